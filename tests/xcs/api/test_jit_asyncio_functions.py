"""Op results handed to asyncio functions under ``@jit async def`` behave like coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
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


@op
async def fail_after(seconds: float, tag: str) -> str:
    await asyncio.sleep(seconds)
    raise ValueError(tag)


def logged_tasks(fn: Callable[..., Coroutine[Any, Any, Any]],
                 caplog: pytest.LogCaptureFixture) -> tuple[Any, list[str]]:
    """What ``fn`` gives under ``asyncio.run``, and what asyncio logged of tasks whose
    exception nobody retrieved (once they are collected)."""
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        result = asyncio.run(fn())
        gc.collect()
    return result, [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()]


async def first_failure() -> tuple[list[str], int]:
    fast = asyncio.ensure_future(fail_after(0.0, "fast"))
    slow = asyncio.ensure_future(fail_after(0.2, "slow"))
    done, pending = await asyncio.wait([fast, slow], return_when=asyncio.FIRST_EXCEPTION)
    return [str(task.exception()) for task in done], len(pending)


async def first_failure_in_try() -> int:  # ops called in a try block run eagerly
    try:
        tasks = [asyncio.ensure_future(fail_after(s, "x")) for s in (0.0, 0.2)]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except KeyError:
        raise
    return len(pending)


async def dropped_task() -> int:
    asyncio.ensure_future(fail_after(0.1, "dropped"))
    return 1


def test_an_op_task_still_pending_when_the_glue_ends_fails_quietly(
        caplog: pytest.LogCaptureFixture) -> None:
    # Plain asyncio.run cancels such a task quietly; the jitted call waits for its op,
    # whose failure nobody looks at: asyncio must not log it as never retrieved.
    for fn, expected in ((first_failure, (["fast"], 1)), (first_failure_in_try, 1),
                         (dropped_task, 1)):
        for form in (fn, jit(fn)):
            assert logged_tasks(form, caplog) == (expected, []), (form, fn)


async def abandoned() -> None:
    asyncio.ensure_future(fail_after(0.5, "abandoned"))
    await asyncio.sleep(10)


def test_an_op_task_of_a_cancelled_call_fails_quietly(caplog: pytest.LogCaptureFixture) -> None:
    # The call's cancellation cancels its op too, which the task then reports as failed.
    for form in (abandoned, jit(abandoned)):
        async def timed_out(form: Callable[[], Coroutine[Any, Any, None]] = form) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(form(), 0.1)

        assert logged_tasks(timed_out, caplog) == (None, []), form


async def failed_in_the_glue() -> int:
    task = asyncio.ensure_future(fail_after(0.0, "seen by nobody"))
    await asyncio.sleep(0.1)  # it fails meanwhile, in plain Python too
    del task
    return 1


def test_an_op_task_failing_while_the_glue_runs_is_logged_as_in_plain_python(
        caplog: pytest.LogCaptureFixture) -> None:
    for form in (failed_in_the_glue, jit(failed_in_the_glue)):
        result, logged = logged_tasks(form, caplog)
        assert result == 1
        assert len(logged) == 1, form


async def kept_task(box: list[Any]) -> int:
    box.append(asyncio.ensure_future(fail_after(0.1, "kept")))
    return 1


def test_an_op_task_keeps_its_exception_for_whoever_asks() -> None:
    box: list[Any] = []
    assert asyncio.run(jit(kept_task)(box)) == 1
    assert box[0].done()  # the call waited for its op
    assert repr(box[0].exception()) == "ValueError('kept')"


@op
async def slow_item(x: int) -> int:
    await asyncio.sleep(0.2)
    return x


async def gathered_slowly(xs: list[int]) -> list[int]:
    return await asyncio.gather(*[slow_item(x) for x in xs])


def test_a_timed_out_gather_of_ops_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # wait_for cancels the call while its glue awaits the gather: the gather ends with a
    # CancelledError that, in plain Python, the cancelled glue reads; nothing is logged.
    for form in (gathered_slowly, jit(gathered_slowly)):
        async def timed_out(form: Callable[[list[int]], Coroutine[Any, Any, Any]] = form
                            ) -> str:
            try:
                await asyncio.wait_for(form([0, 1, 2]), 0.05)
            except TimeoutError:
                await asyncio.sleep(0.3)  # the gather has ended by now
                return "timed out"
            return "finished"

        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            result = asyncio.run(timed_out())
            gc.collect()
        assert result == "timed out", form
        assert [r.getMessage() for r in caplog.records] == [], form


@op
async def item_after(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


async def tasks_after_a_failure() -> list[str]:
    checked = await fail_after(0.01, "invalid")  # plain Python stops here
    tasks = [asyncio.ensure_future(item_after(0.05, "a")),
             asyncio.ensure_future(item_after(0.0, checked))]
    return [await task for task in tasks]


async def completed_after_a_failure() -> list[str]:
    checked = await fail_after(0.01, "invalid")
    return [await c for c in asyncio.as_completed([item_after(0.05, "a"),
                                                   item_after(0.0, checked)])]


async def failing_tasks_after_a_failure() -> list[str]:
    checked = await fail_after(0.05, "invalid")  # fails after the ops below
    tasks = [asyncio.ensure_future(fail_after(0.0, "a")),
             asyncio.ensure_future(fail_after(0.0, "b"))]
    return [await task for task in tasks] + [checked]


def test_op_tasks_the_glue_ran_ahead_to_after_a_failure_fail_quietly(
        caplog: pytest.LogCaptureFixture) -> None:
    # The glue ran past the failing op and made tasks plain Python never made; the ops
    # they wrap end with XCS's DeferredFailure, or fail on their own before it:
    # asyncio must not log either.
    for fn in (tasks_after_a_failure, completed_after_a_failure,
               failing_tasks_after_a_failure):
        for form in (fn, jit(fn), jit(fn)):
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="asyncio"):
                with pytest.raises(ValueError, match="invalid"):
                    asyncio.run(form())
                gc.collect()
            assert [r.getMessage() for r in caplog.records] == [], (fn, form)
