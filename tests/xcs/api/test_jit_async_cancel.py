"""A cancelled ``@jit async def`` call ends as the plain coroutine would.

The caller cancels (``wait_for``, ``asyncio.timeout``, ``task.cancel()``) while an op
the glue awaited still runs: in plain Python the cancellation lands in that op's
coroutine, whose ``except``/``finally`` blocks run before the caller sees the error,
and whose own outcome (a value it returns instead, another exception) is what the
glue's ``await`` gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ember.xcs import jit, op

EVENTS: list[str] = []


@op
async def query(name: str) -> str:
    EVENTS.append(f"enter {name}")
    try:
        await asyncio.sleep(0.3)
        return name.upper()
    except asyncio.CancelledError:
        EVENTS.append(f"cancel {name}")
        raise
    finally:
        await asyncio.sleep(0.1)  # closing a connection, say
        EVENTS.append(f"finally {name}")


@op
async def stream(words: str) -> str:
    parts: list[str] = []
    try:
        for index, word in enumerate(words.split()):
            # Two words at once, then a long wait the caller's cancellation lands in,
            # however loaded the machine (no race between a word and the timeout).
            await asyncio.sleep(0.01 if index < 2 else 2)
            parts.append(word)
        return " ".join(parts)
    except asyncio.CancelledError:
        return " ".join(parts) + " [truncated]"


@op
async def closing(name: str) -> str:
    try:
        await asyncio.sleep(0.3)
        return name
    finally:
        raise ConnectionError(f"close failed for {name}")


async def one_query(name: str) -> str:
    answer = await query(name)
    return answer + "!"


async def queries_started_ahead(name: str) -> str:
    later = query(name + "-later")  # a coroutine not awaited yet: plain never starts it
    first = await query(name)
    second = await query(name + "-second")
    return first + second + await later


async def streamed(words: str) -> dict[str, str]:
    text = await stream(words)
    EVENTS.append("glue saw " + text)
    return {"answer": text}


async def streamed_in_try(words: str) -> dict[str, str]:
    try:
        text = await stream(words)
    finally:
        EVENTS.append("glue finally")
    return {"answer": text}


async def streamed_then_more(words: str) -> list[str]:
    text = await stream(words)
    more = await stream("x y")
    return [text, more]


async def closed(name: str) -> str:
    answer = await closing(name)
    return answer


TIMEOUT = 0.125  # after a stream's first two words, long before its third


async def _wait_for(call: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(call, TIMEOUT)


async def _timeout(call: Awaitable[Any]) -> Any:
    async with asyncio.timeout(TIMEOUT):
        return await call


async def _cancel(call: Awaitable[Any]) -> Any:
    task = asyncio.ensure_future(call)
    await asyncio.sleep(TIMEOUT)
    task.cancel()
    return await task


DRIVERS = [_wait_for, _timeout, _cancel]


def _outcome(handler: Callable[[str], Awaitable[Any]], driver: Any, argument: str) -> Any:
    async def main() -> Any:
        try:
            return await driver(handler(argument))
        except (Exception, asyncio.CancelledError) as error:
            return f"{type(error).__name__}: {error}", EVENTS[:]

    EVENTS.clear()
    outcome = asyncio.run(main())
    time.sleep(0.4)  # anything of the call still running would show in EVENTS
    return outcome, EVENTS[:]


def _jitted(handler: Callable[[str], Awaitable[Any]]) -> Any:
    fast = jit(handler)
    with contextlib.suppress(Exception):  # its first call also rewrites it: not timed
        asyncio.run(fast("warm"))
    return fast


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda driver: driver.__name__)
def test_the_call_raises_after_the_cancelled_ops_cleanup(driver: Any) -> None:
    expected = _outcome(one_query, driver, "c1")
    assert expected[0] == (f"{'Cancelled' if driver is _cancel else 'Timeout'}Error: ",
                           ["enter c1", "cancel c1", "finally c1"])
    assert _outcome(_jitted(one_query), driver, "c1") == expected


@pytest.mark.filterwarnings("ignore:coroutine 'query' was never awaited")  # plain's `later`
def test_ops_started_ahead_are_cancelled_and_cleaned_up_before_the_call_raises() -> None:
    (expected, _), _ = _outcome(queries_started_ahead, _wait_for, "c1")
    (result, seen), after = _outcome(_jitted(queries_started_ahead), _wait_for, "c1")
    assert result == expected == "TimeoutError: "
    entered = [event.split()[1] for event in seen if event.startswith("enter")]
    assert "c1" in entered
    assert all(f"finally {name}" in seen for name in entered), seen
    assert after == seen  # nothing of the call ran after it raised


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda driver: driver.__name__)
@pytest.mark.parametrize("handler", [streamed, streamed_in_try, streamed_then_more],
                         ids=lambda handler: handler.__name__)
def test_an_op_that_handles_its_cancellation_gives_the_glue_its_value(
        handler: Callable[[str], Awaitable[Any]], driver: Any) -> None:
    expected = _outcome(handler, driver, "a b c d e f g h")
    assert "a b [truncated]" in str(expected)
    assert _outcome(_jitted(handler), driver, "a b c d e f g h") == expected


def test_an_op_whose_cleanup_raises_gives_that_exception() -> None:
    expected = _outcome(closed, _wait_for, "db")
    assert expected[0][0] == "ConnectionError: close failed for db"
    assert _outcome(_jitted(closed), _wait_for, "db") == expected


async def fallback_after_cancel(q: str) -> str:
    answer = await query(q)
    try:
        await asyncio.sleep(1)
    except asyncio.CancelledError:
        return "fallback: " + answer
    return answer


async def fallback_after_base_exception(q: str) -> str:
    answer = await query(q)
    try:
        await asyncio.sleep(1)
    except BaseException:
        return "fallback: " + answer
    return answer


async def cleanup_after_op(q: str) -> str:
    answer = await query(q)
    try:
        await asyncio.sleep(1)
    finally:
        EVENTS.append("glue finally")
    return answer


@pytest.mark.parametrize("handler", [fallback_after_cancel, fallback_after_base_exception,
                                     cleanup_after_op], ids=lambda handler: handler.__name__)
def test_a_cancellation_lands_in_the_op_not_in_a_later_try_block(
        handler: Callable[[str], Awaitable[Any]]) -> None:
    fast = _jitted(handler)
    started = time.perf_counter()
    expected = _outcome(handler, _wait_for, "q")
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = _outcome(fast, _wait_for, "q")
    seconds = time.perf_counter() - started
    assert result == expected
    assert expected[0][0] == "TimeoutError: "
    assert seconds < plain_seconds + 0.2  # the timeout bounds the call


async def inner_timeout_after_op(q: str) -> object:
    answer = await query(q)
    try:
        late = await asyncio.wait_for(query(q + "-slow"), 0.05)
    except TimeoutError:
        late = "late"
    return [answer, late]


async def inner_timeout_block_after_op(q: str) -> object:
    answer = await query(q)
    try:
        async with asyncio.timeout(0.05):
            late = await query(q + "-slow")
    except TimeoutError:
        late = "late"
    return [answer, late]


@pytest.mark.parametrize("handler", [inner_timeout_after_op, inner_timeout_block_after_op],
                         ids=lambda handler: handler.__name__)
def test_the_glues_own_timeouts_cancel_only_what_they_cover(
        handler: Callable[[str], Awaitable[Any]]) -> None:
    EVENTS.clear()
    expected = asyncio.run(handler("q"))
    plain_events = sorted(EVENTS)
    EVENTS.clear()
    assert asyncio.run(jit(handler)("q")) == expected == ["Q", "late"]
    assert sorted(EVENTS) == plain_events


@op
async def fetch(tag: str) -> str:
    await asyncio.sleep(0.01)
    return tag


async def start_fetch(tag: str) -> Any:
    return fetch(tag)  # the caller is to await it


def test_a_returned_coroutine_dropped_by_the_caller_warns_when_dropped() -> None:
    fast = jit(start_fetch)
    for call in range(2):
        coroutine = asyncio.run(fast(f"x{call}"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del coroutine
            gc.collect()
        messages = [str(w.message) for w in caught]
        assert messages == ["coroutine 'fetch' was never awaited"], f"call {call}: {messages}"
