import time

import pytest

from ember.models import InvalidParamsError, RetryPolicy, SimulatedFailure, SimulatedProvider


def complete(provider, prompt="Capital of France?", model="m", **params):
    return provider.complete("simulated", model, prompt, params)


def test_replies_are_deterministic_and_labelled():
    provider = SimulatedProvider()
    first, second = complete(provider), complete(SimulatedProvider())
    assert first == second and first.simulated and first.startswith("[simulated] ")
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0


def test_reply_depends_on_model_prompt_and_params():
    provider = SimulatedProvider()
    prompts = [f"question {i}" for i in range(40)]
    assert len({complete(provider, p) for p in prompts}) > 1
    by_model = [
        complete(provider, p, model="a") != complete(provider, p, model="b") for p in prompts
    ]
    assert any(by_model) and not all(by_model)
    by_temperature = [
        complete(provider, p) != complete(provider, p, temperature=1.0) for p in prompts
    ]
    assert any(by_temperature)


def test_follows_answer_with_one_of():
    reply = complete(SimulatedProvider(), "Is it right? Answer with one of: PASS, FAIL")
    assert reply.text in ("[simulated] PASS", "[simulated] FAIL")


def test_simulation_params_do_not_change_text():
    provider = SimulatedProvider()
    assert complete(provider, latency=0.0) == complete(provider, latency=0.01, failure_rate=0.0)


def test_fixed_latency_is_applied():
    start = time.perf_counter()
    complete(SimulatedProvider(latency=0.05))
    assert time.perf_counter() - start >= 0.05


def test_latency_range_is_seeded_by_request(monkeypatch):
    slept = []
    monkeypatch.setattr("ember.models.providers.simulated.time.sleep", slept.append)
    provider = SimulatedProvider(latency=(0.1, 0.2))
    for prompt in ("a", "b", "a"):
        complete(provider, prompt)
    assert all(0.1 <= s <= 0.2 for s in slept)
    assert slept[0] == slept[2] and slept[0] != slept[1]


def test_failure_rate_is_deterministic_per_prompt_and_not_retried():
    provider = SimulatedProvider(
        failure_rate=0.5, retry=RetryPolicy(max_attempts=5, initial_delay=10)
    )
    outcomes = {}
    for i in range(60):
        try:
            complete(provider, f"q{i}")
            outcomes[i] = "ok"
        except SimulatedFailure as error:
            assert "failure_rate=0.5" in str(error)
            outcomes[i] = "failed"
    assert 10 < list(outcomes.values()).count("failed") < 50
    failing = next(i for i, outcome in outcomes.items() if outcome == "failed")
    with pytest.raises(SimulatedFailure):
        complete(provider, f"q{failing}")
    assert complete(provider, f"q{failing}", failure_rate=0.0).simulated


def test_always_and_never_fail():
    with pytest.raises(SimulatedFailure):
        complete(SimulatedProvider(failure_rate=1.0))
    assert complete(SimulatedProvider(failure_rate=0.0))


def test_bad_settings_are_rejected():
    with pytest.raises(InvalidParamsError, match="latency"):
        SimulatedProvider(latency=-1)
    with pytest.raises(InvalidParamsError, match="failure_rate"):
        SimulatedProvider(failure_rate=2)
    with pytest.raises(InvalidParamsError, match="max_concurrency"):
        SimulatedProvider(max_concurrency=0)
