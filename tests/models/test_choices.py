from ember.models.choices import offered_options, pick, stable_fraction


def test_last_instruction_wins_and_is_split():
    prompt = "Answer with one of: x, y\nthen\nanswer with one of: PASS, FAIL."
    assert offered_options(prompt) == ["PASS", "FAIL"]
    assert offered_options("no instruction") == []


def test_pick_is_deterministic_and_covers_options():
    options = ["a", "b", "c"]
    assert pick(options, 1, "x") == pick(options, 1, "x")
    assert {pick(options, seed) for seed in range(200)} == set(options)


def test_stable_fraction_is_in_unit_interval():
    values = [stable_fraction("s", i) for i in range(500)]
    assert all(0 <= v < 1 for v in values)
    assert 0.4 < sum(values) / len(values) < 0.6
