"""pyember's ``@op``: an Operator, specs and validation from annotations, ``>>``."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, ValidationError

from ember.api import op
from ember.api.operators import Chain, Operator
from ember.xcs import get_jit_stats, jit


class Question(BaseModel):
    text: str
    lang: str = "en"


class Answer(BaseModel):
    text: str


def test_op_gives_an_operator_with_the_functions_identity():
    @op
    def summarize(text: str) -> str:
        """First sentence."""
        return text.split(".")[0]

    assert isinstance(summarize, Operator)
    assert summarize.__name__ == "summarize" and summarize.__doc__ == "First sentence."
    assert summarize("A. B.") == "A"


def test_rshift_between_op_functions_as_in_the_readme():
    @op
    def summarize(text: str) -> str:
        return text.split(".")[0]

    @op
    def translate(text: str) -> str:
        return text.upper()

    pipeline = summarize >> translate
    assert isinstance(pipeline, Chain) and pipeline("ember runs. fast.") == "EMBER RUNS"


def test_annotations_validate_inputs_and_outputs():
    @op
    def answer(question: Question) -> Answer:
        return {"text": question.text[::-1]}  # a dict, validated into Answer

    result = answer({"text": "abc"})
    assert isinstance(result, Answer) and result.text == "cba"
    with pytest.raises(ValidationError):
        answer({"lang": "fr"})
    assert answer.input_spec is None and answer.output_spec is Answer


def test_explicit_specs_for_single_and_multi_argument_functions():
    @op(input_spec=Question, output_spec=Answer)
    def one(payload):
        return Answer(text=f"{payload.text}/{payload.lang}")

    assert one({"text": "q"}).text == "q/en"
    assert one.input_spec is Question

    @op(input_spec=Question)
    def two(text, lang):
        return f"{text}:{lang}"

    assert two("hi", "de") == "hi:de"
    with pytest.raises(ValidationError):
        two(3, "de")
    with pytest.raises(TypeError, match="model_validate"):
        op(input_spec=dict)(lambda x: x)


def test_op_calls_run_concurrently_under_jit():
    @op
    def slow(x: int) -> int:
        time.sleep(0.2)
        return x * 2

    @jit
    def fan(xs):
        out = []
        for x in xs:
            out.append(slow(x))
        return out

    fan([0])
    started = time.perf_counter()
    assert fan(list(range(4))) == [0, 2, 4, 6]
    assert time.perf_counter() - started < 0.6
    assert get_jit_stats(fan)["calls"] == 2


def test_validation_runs_inside_the_op_on_real_values():
    calls = []

    @op
    def make(text: str) -> dict:
        calls.append(text)
        return {"text": text}

    @op
    def check(question: Question) -> str:
        return question.text.upper()

    @jit
    def pipeline(text):
        return check(make(text))

    assert pipeline("x") == "X" and calls == ["x"]
