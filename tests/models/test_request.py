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


def test_good_values_pass():
    validate_params(
        "x/y",
        {
            "temperature": 0,
            "max_tokens": 5,
            "top_p": 1,
            "stop": ["\n"],
            "latency": (0, 0.1),
            "seed": 3,
        },
        ACCEPTED,
    )


def test_max_temperature_is_per_provider():
    with pytest.raises(InvalidParamsError, match=r"\[0, 1\]"):
        validate_params("x/y", {"temperature": 1.5}, ACCEPTED, max_temperature=1.0)


def test_estimate_tokens_is_at_least_one():
    assert estimate_tokens("") == 1
    assert estimate_tokens("a" * 40) == 10
