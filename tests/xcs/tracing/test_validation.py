"""``Model.model_validate(data)`` with op results inside lists of ``data`` is lifted
(``tracing.validation``): the ops after it start while the first one runs."""

from __future__ import annotations

import time
from typing import Any

import pydantic
import pytest

from ember.xcs import get_jit_stats, jit, op


class Answers(pydantic.BaseModel):
    k: list[str]
    scores: dict[str, int] = {}


class Loose(pydantic.BaseModel):
    k: Any  # keeps the very list it is given


calls: list[str] = []


@op
def ask(x: int) -> str:
    calls.append(f"ask{x}")
    time.sleep(0.15)
    return f"r{x}"


def test_validating_a_dict_holding_a_list_of_op_results_lets_the_next_ops_overlap() -> None:
    def glue(x: int) -> Any:
        answers = Answers.model_validate({"k": [ask(x)], "scores": {"a": x}})
        return answers, ask(x + 1), ask(x + 2)

    fast = jit(glue)
    for x in (1, 4):
        calls.clear()
        expected = glue(x)
        plain_calls = sorted(calls)
        calls.clear()
        started = time.perf_counter()
        assert fast(x) == expected
        assert time.perf_counter() - started < 0.4  # plain: 0.45 s, one after another
        assert sorted(calls) == plain_calls
    assert not get_jit_stats(fast)["barriers"]


def test_a_model_that_may_keep_a_list_waits_at_the_call_and_keeps_it() -> None:
    def glue(x: int) -> Any:
        items = [ask(x)]
        loose = Loose.model_validate({"k": items})
        return loose.k is items, loose.k

    assert jit(glue)(1) == glue(1) == (True, ["r1"])


def test_a_validation_error_is_plain_pythons() -> None:
    def glue(x: int) -> Any:
        return Answers.model_validate({"k": [ask(x)], "scores": {"a": "many"}})

    with pytest.raises(pydantic.ValidationError) as plain:
        glue(1)
    with pytest.raises(pydantic.ValidationError) as jitted:
        jit(glue)(1)
    assert str(jitted.value) == str(plain.value)
