import pytest

from ember.models import InvalidParamsError
from ember.models.request import estimate_tokens, normalize_prompt, validate_params

ACCEPTED = {"temperature", "max_tokens", "top_p", "stop", "latency", "failure_rate", "seed"}


def test_text_prompt_becomes_one_user_message():
    assert normalize_prompt("hi", model_id="x/y") == [{"role": "user", "content": "hi"}]


def test_message_prompt_is_checked_and_copied():
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert normalize_prompt(messages, model_id="x/y") == messages


@pytest.mark.parametrize(
    "prompt", [None, 3, [], [{"role": "robot", "content": "x"}], [{"role": "user"}]]
)
def test_bad_prompts_are_rejected(prompt):
    with pytest.raises(InvalidParamsError, match="x/y"):
        normalize_prompt(prompt, model_id="x/y")


def test_unknown_parameter_lists_accepted_ones():
    with pytest.raises(InvalidParamsError, match=r"unknown parameter\(s\) colour.*max_tokens"):
        validate_params("x/y", {"colour": "red"}, ACCEPTED)


def test_misspelt_parameter_gets_a_did_you_mean():
    with pytest.raises(InvalidParamsError) as caught:
        validate_params("x/y", {"temprature": 0.2, "max_token": 5}, ACCEPTED)
    message = str(caught.value)
    assert "Did you mean: 'max_token' -> 'max_tokens', 'temprature' -> 'temperature'?" in message
    with pytest.raises(InvalidParamsError) as unrelated:
        validate_params("x/y", {"colour": "red"}, ACCEPTED)
    assert "Did you mean" not in str(unrelated.value)


def test_huge_prompts_and_values_are_not_copied_into_errors():
    huge = b"x" * 10_000_000
    with pytest.raises(InvalidParamsError) as caught:
        normalize_prompt(huge, model_id="x/y")
    assert len(str(caught.value)) < 1_000 and "10,000,000 bytes" in str(caught.value)
    with pytest.raises(InvalidParamsError) as value_error:
        validate_params("x/y", {"stop": "s" * 5_000_000 + "\ud800"}, ACCEPTED)
    assert len(str(value_error.value)) < 1_000
    with pytest.raises(InvalidParamsError) as name_error:
        validate_params("x/y", {"n" * 1_000_000: 1}, ACCEPTED)
    assert len(str(name_error.value)) < 1_000


def test_a_bad_message_dict_is_described_not_copied():
    secret = "confidential " * 1_000
    messages = [{"role": "user", "content": "ok"}, {"role": "user", "content": secret.encode()}]
    with pytest.raises(InvalidParamsError) as caught:
        normalize_prompt(messages, model_id="x/y")
    message = str(caught.value)
    assert "message 1" in message and "'content' of type bytes" in message
    assert "confidential" not in message
    with pytest.raises(InvalidParamsError) as bad_role:
        normalize_prompt([{"role": secret, "content": "x"}], model_id="x/y")
    assert len(str(bad_role.value)) < 300


@pytest.mark.parametrize(
    ("prompt", "where"),
    [
        ("abc\ud800def", "the prompt"),
        ([{"role": "system", "content": "s"}, {"role": "user", "content": "\udfff"}], "message 1"),
    ],
)
def test_lone_surrogates_are_reported_before_any_sdk(prompt, where):
    with pytest.raises(InvalidParamsError, match=f"x/y: {where} contains a lone surrogate"):
        normalize_prompt(prompt, model_id="x/y")
    assert normalize_prompt("emoji \U0001f600 fine", model_id="x/y")[0]["content"].endswith("fine")


@pytest.mark.parametrize(
    "params",
    [
        {"temperature": -0.1},
        {"temperature": 2.5},
        {"temperature": True},
        {"temperature": float("nan")},
        {"max_tokens": 0},
        {"max_tokens": 1.5},
        {"top_p": 0},
        {"stop": [1]},
        {"latency": -1},
        {"latency": (0.3, 0.1)},
        {"failure_rate": 1.5},
        {"seed": "7"},
    ],
)
def test_bad_values_name_parameter_and_rule(params):
    ((name, value),) = params.items()
    with pytest.raises(InvalidParamsError, match=f"{name}=.*expected"):
        validate_params("x/y", params, ACCEPTED)


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("temperature", 0, -0.001),
        ("temperature", 2, 2.001),
        ("max_tokens", 1, 0),
        ("top_p", 1, 1.01),
        ("stop", ["\n", "END"], ["\n", 3]),
        ("latency", (0, 0.1), (0.1, 0)),
        ("seed", 3, 3.0),
        ("system", "be brief", "bad \ud800"),
    ],
)
def test_each_rule_has_an_exact_boundary(name, good, bad):
    ACCEPTED_WITH_SYSTEM = ACCEPTED | {"system"}
    assert validate_params("x/y", {name: good}, ACCEPTED_WITH_SYSTEM) is None
    with pytest.raises(InvalidParamsError, match=f"x/y: {name}=.* is invalid"):
        validate_params("x/y", {name: bad}, ACCEPTED_WITH_SYSTEM)


def test_max_temperature_is_per_provider():
    with pytest.raises(InvalidParamsError, match=r"\[0, 1\]"):
        validate_params("x/y", {"temperature": 1.5}, ACCEPTED, max_temperature=1.0)


def test_estimate_tokens_is_at_least_one():
    assert estimate_tokens("") == 1
    assert estimate_tokens("a" * 40) == 10


def test_repeated_parameter_names_still_check_every_value() -> None:
    from ember.models.request import validate_params

    accepted = frozenset({"temperature", "max_tokens"})
    for _ in range(3):  # the rules of a set of names are worked out once, then reused
        validate_params("simulated/x", {"temperature": 0.5, "max_tokens": 8}, accepted)
    with pytest.raises(InvalidParamsError, match="temperature=-1 is invalid"):
        validate_params("simulated/x", {"temperature": -1, "max_tokens": 8}, accepted)
    with pytest.raises(InvalidParamsError, match="max_tokens"):
        validate_params("simulated/x", {"temperature": 0.5, "max_tokens": -3}, accepted)
    with pytest.raises(InvalidParamsError, match="Did you mean"):
        validate_params("simulated/x", {"temprature": 0.5}, accepted)
