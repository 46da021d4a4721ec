"""Op results handed to asyncio functions under ``@jit async def`` behave like coroutines."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from ember.xcs import jit, op

cancelled: list[str] = []


@op
async def ask(question: str) -> str:
    delay = {"slow": 0.6, "late": 0.15, "soon": 0.05}.get(question, 0.1)
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        cancelled.append(question)
        raise
    if question == "bad":
        raise ValueError("bad prompt")
    return f"reply:{question}"


def both(fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> tuple[Any, Any]:
    """What the plain coroutine gives, then what its jitted form gives (or raises)."""
    results = []
    for form in (fn, jit(fn)):
        try:
            results.append(asyncio.run(form(*args)))
        except Exception as error:  # compared by type and message below
            results.append((type(error).__name__, str(error)))
    return results[0], results[1]


async def gathered_with_exceptions(questions: list[str]) -> list[str]:
    replies = await asyncio.gather(*[ask(q) for q in questions], return_exceptions=True)
    return [r if isinstance(r, str) else f"error: {r!r}" for r in replies]


def test_gather_with_return_exceptions_lists_the_exception_and_overlaps() -> None:
    plain, traced = both(gathered_with_exceptions, ["a", "bad", "c"])
    assert plain == ["reply:a", "error: ValueError('bad prompt')", "reply:c"]
    assert traced == plain
    started = time.perf_counter()
    asyncio.run(jit(gathered_with_exceptions)(["a", "bad", "c", "d"]))
    assert time.perf_counter() - started < 0.3  # four 100 ms ops overlapped


async def gathered(questions: list[str]) -> list[str]:
    return list(await asyncio.gather(*[ask(q) for q in questions]))


def test_gather_without_return_exceptions_raises_the_failure() -> None:
    plain, traced = both(gathered, ["a", "bad"])
    assert plain == ("ValueError", "bad prompt")
    assert traced == plain


async def in_completion_order(questions: list[str]) -> list[str]:
    return [await reply for reply in asyncio.as_completed([ask(q) for q in questions])]


def test_as_completed_yields_in_completion_order() -> None:
    plain, traced = both(in_completion_order, ["late", "a", "soon"])
    assert plain == ["reply:soon", "reply:a", "reply:late"]
    assert traced == plain


async def bounded(question: str) -> str:
    return await asyncio.wait_for(ask(question), timeout=0.15)


def test_wait_for_times_out_and_cancels_the_op_as_plain_asyncio_does() -> None:
    for form in (bounded, jit(bounded)):
        cancelled.clear()
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            asyncio.run(form("slow"))
        assert time.perf_counter() - started < 0.45  # the op sleeps 0.6 s
        assert cancelled == ["slow"]
    assert asyncio.run(jit(bounded)("soon")) == "reply:soon"


async def cancelled_task(question: str) -> bool:
    task = asyncio.create_task(ask(question))
    await asyncio.sleep(0.02)
    task.cancel()
    done, _ = await asyncio.wait([task])
    return task in done and task.cancelled()


def test_cancelling_a_task_of_an_op_cancels_the_op() -> None:
    for form in (cancelled_task, jit(cancelled_task)):
        cancelled.clear()
        assert asyncio.run(form("slow")) is True
        assert cancelled == ["slow"]


async def first_done(questions: list[str]) -> list[str]:
    tasks = [asyncio.ensure_future(ask(q)) for q in questions]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return [task.result() for task in done]


def test_wait_first_completed_sees_the_fastest_op() -> None:
    plain, traced = both(first_done, ["late", "soon"])
    assert plain == ["reply:soon"]
    assert traced == plain


async def shielded(question: str) -> tuple[str, str]:
    inner = asyncio.ensure_future(ask(question))
    try:
        outcome = await asyncio.wait_for(asyncio.shield(inner), timeout=0.02)
    except TimeoutError:
        outcome = "timed out"
    return outcome, await inner


def test_shield_keeps_the_op_running_past_a_timeout() -> None:
    plain, traced = both(shielded, "a")
    assert plain == ("timed out", "reply:a")
    assert traced == plain


async def waited_on_coroutines(questions: list[str]) -> object:
    return await asyncio.wait([ask(q) for q in questions])


def test_asyncio_wait_rejects_op_results_like_coroutines() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "never awaited", in plain too
        plain, traced = both(waited_on_coroutines, ["a"])
        gc.collect()
    assert plain[0] == "TypeError"
    assert traced == plain
