"""``eval(answer)`` / ``exec(answer)`` of an op's answer runs its text, as plain Python.

A calculator agent evaluates what the model wrote. Under ``@jit`` the answer is a lazy
value, and the built-in ``eval`` refused it (``TypeError: eval() arg 1 must be a
string, bytes or code object``) instead of running it, or raising its ``SyntaxError``
or ``NameError``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ember.xcs import jit, op
from tests.xcs.tracing.outcomes import outcome

CALLS: list[str] = []


@op
def write_expression(question: int) -> str:
    CALLS.append(f"write {question}")
    time.sleep(0.001)
    return {0: f"{question} * 2 + 1", 1: f"{question} +", 2: f"total_{question}"}[question % 3]


@op
async def awrite_expression(question: int) -> str:
    CALLS.append(f"awrite {question}")
    await asyncio.sleep(0.001)
    return f"{question} - 1"


def calculate(question: int) -> Any:
    return eval(write_expression(question))  # noqa: S307 - the case under test


def calculate_with_names(question: int) -> Any:
    total_2 = 40  # noqa: F841 - read by the evaluated text
    total_5 = 50  # noqa: F841
    return eval(write_expression(question) + "")  # noqa: S307


def run_program(question: int) -> Any:
    space: dict[str, Any] = {}
    exec(f"result = {write_expression(question * 3)}", space)  # noqa: S102
    return space["result"]


@pytest.mark.parametrize("fn", [calculate, calculate_with_names, run_program])
def test_eval_of_an_op_answer_runs_its_text(fn: Any) -> None:
    fast = jit(fn)
    for question in (3, 4, 5, 9):
        assert outcome(fast, question, calls=CALLS) == outcome(fn, question, calls=CALLS)


def test_eval_of_an_op_answer_in_async_glue() -> None:
    async def main(question: int) -> list[Any]:
        return [eval(await awrite_expression(question)),  # noqa: S307
                eval(write_expression(question * 3))]  # noqa: S307

    for question in (2, 7):
        assert asyncio.run(jit(main)(question)) == asyncio.run(main(question))
