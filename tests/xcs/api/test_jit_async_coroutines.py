"""Inside ``@jit async def``, calling an ``async def`` op gives what plain Python gives: a
coroutine. Its exception is raised where it is awaited, it can be awaited once, it is
not a value, and discarding it fails nothing; the op still starts at once."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op

# Plain runs of the forgotten-await programs leave coroutines that were never awaited.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")

LOG: list[str] = []


@op
async def allm(prompt: str) -> str:
    LOG.append(f"start {prompt}")
    await asyncio.sleep(0.05)
    if prompt.startswith("bad"):
        raise ValueError(f"bad prompt {prompt}")
    return prompt.upper()


@op
def llm(prompt: str) -> str:
    time.sleep(0.005)
    return prompt.upper()


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
    """What ``asyncio.run(fn(*args))`` gives or raises, and the ops it started."""
    LOG.clear()
    try:
        result: Any = asyncio.run(fn(*args))
    except Exception as error:  # noqa: BLE001 - the outcome is compared, type included
        result = (type(error), str(error))
    return result, sorted(LOG)


def same_as_plain(fn: Callable[..., Any], *args: Any) -> Any:
    plain = outcome(fn, *args)
    jitted = outcome(jit(fn), *args)
    assert jitted == plain
    return plain[0]


async def created_then_awaited_in_try(prompts: list[str]) -> list[str]:
    pending = [allm(p) for p in prompts]  # coroutines: not awaited yet
    out = []
    for coroutine in pending:
        try:
            out.append(await coroutine)
        except ValueError as error:
            out.append(f"error: {error}")
    return out


def test_the_exception_is_raised_at_the_await_inside_try_and_the_ops_overlap() -> None:
    for prompts in (["a", "b"], ["a", "bad1", "b"], ["bad2"]):
        same_as_plain(created_then_awaited_in_try, prompts)
    started = time.perf_counter()
    result = asyncio.run(jit(created_then_awaited_in_try)(["a", "bad", "b", "c", "d", "e"]))
    elapsed = time.perf_counter() - started
    assert result == ["A", "error: bad prompt bad", "B", "C", "D", "E"]
    assert elapsed < 0.2, f"{elapsed:.3f}s: six 50 ms ops ran one after another (plain: 0.3 s)"


async def await_outside_try(prompt: str) -> str:
    coroutine = allm(prompt)
    other = await allm("other")  # plain Python runs this before the failure shows
    return f"{other} {await coroutine}"


def test_a_failure_shows_at_the_await_not_before_it() -> None:
    assert same_as_plain(await_outside_try, "x") == "OTHER X"
    assert same_as_plain(await_outside_try, "bad") == (ValueError, "bad prompt bad")


CACHE = {"cached": "FROM CACHE"}


async def discard_on_cache_hit(prompt: str, key: str) -> str:
    draft = allm(prompt)
    hit = CACHE.get(key)
    if hit is not None:
        draft.close()  # not needed
        return hit
    return await draft


def test_a_discarded_coroutine_fails_nothing() -> None:
    fast = jit(discard_on_cache_hit)
    assert asyncio.run(fast("a", "miss")) == "A"
    assert asyncio.run(fast("b", "cached")) == "FROM CACHE"
    assert asyncio.run(fast("bad", "cached")) == "FROM CACHE"  # plain never ran the op
    with pytest.raises(ValueError, match="bad prompt bad"):
        asyncio.run(fast("bad", "miss"))


async def await_twice(prompt: str) -> tuple[str, str]:
    coroutine = allm(prompt)
    first = await coroutine
    try:
        second = await coroutine
    except RuntimeError as error:
        second = f"RuntimeError: {error}"
    return first, second


def test_a_coroutine_is_awaited_once() -> None:
    reused = "RuntimeError: cannot reuse already awaited coroutine"
    assert same_as_plain(await_twice, "a") == ("A", reused)


async def await_sync_result(prompt: str) -> Any:
    return await llm(prompt)


async def await_value_twice(prompt: str) -> Any:
    reply = await allm(prompt)
    return await reply  # a str


async def gather_sync_results(prompts: list[str]) -> Any:
    return await asyncio.gather(*(llm(p) for p in prompts))


async def task_of_sync_result(prompt: str) -> Any:
    return await asyncio.create_task(llm(prompt))


@pytest.mark.parametrize("fn, argument", [
    (await_sync_result, "a"), (await_value_twice, "a"), (gather_sync_results, ["a", "b"]),
    (task_of_sync_result, "a")])
def test_awaiting_a_value_that_is_not_awaitable_raises_as_plain(
        fn: Callable[..., Any], argument: Any) -> None:
    error_type, _ = same_as_plain(fn, argument)
    assert error_type is TypeError


async def forgot_await_add(prompt: str) -> Any:
    return allm(prompt) + "!"


async def forgot_await_method(prompt: str) -> Any:
    return allm(prompt).lower()


async def forgot_await_json(prompt: str) -> Any:
    return json.dumps({"answer": allm(prompt)})


async def forgot_await_kind(prompt: str) -> Any:
    value = allm(prompt)
    kind = (type(value).__name__, asyncio.iscoroutine(value))
    value.close()
    return kind


@pytest.mark.parametrize("fn", [forgot_await_add, forgot_await_method, forgot_await_json])
def test_a_forgotten_await_fails_as_on_a_coroutine(fn: Callable[..., Any]) -> None:
    plain = outcome(fn, "a")[0]
    jitted = outcome(jit(fn), "a")[0]
    assert jitted == plain
    assert plain[0] in (TypeError, AttributeError) and "coroutine" in plain[1]


def test_an_op_coroutine_is_a_coroutine() -> None:
    assert asyncio.run(jit(forgot_await_kind)("a")) == ("coroutine", True)


async def hand_back(prompt: str) -> Any:
    return {"later": allm(prompt)}


def test_a_coroutine_returned_unawaited_can_be_awaited_after_the_call() -> None:
    async def main() -> Any:
        held = await jit(hand_back)("x")
        return await held["later"]

    assert asyncio.run(main()) == "X"


async def with_asyncio_functions(prompts: list[str]) -> Any:
    gathered = await asyncio.gather(*(allm(p) for p in prompts), return_exceptions=True)
    timed = await asyncio.wait_for(allm("w"), timeout=5)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(allm(p)) for p in ("t1", "t2")]
    return [repr(g) for g in gathered], timed, [t.result() for t in tasks]


def test_asyncio_functions_drive_op_coroutines() -> None:
    result = same_as_plain(with_asyncio_functions, ["a", "bad", "c"])
    assert result[1] == "W"
    fast = jit(with_asyncio_functions)
    started = time.perf_counter()
    asyncio.run(fast(["a", "b", "c", "d"]))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"{elapsed:.3f}s"


EVENTS: list[str] = []
IN_FLIGHT: set[str] = set()


async def handler(q: str) -> str:
    IN_FLIGHT.add(q)
    EVENTS.append(f"start {q}, {len(IN_FLIGHT)} in flight")
    reply = await allm(q)
    IN_FLIGHT.discard(q)
    EVENTS.append(f"done {q}")
    return reply


def served(handle: Callable[[str], Any]) -> tuple[list[Any], list[str]]:
    """Three requests served concurrently by one event loop, and what the handlers logged."""
    EVENTS.clear()

    async def serve() -> list[Any]:
        return list(await asyncio.gather(*(handle(q) for q in ("a", "b", "c"))))

    return asyncio.run(serve()), list(EVENTS)


def test_concurrent_handlers_interleave_at_an_awaited_op_as_in_plain_python() -> None:
    # Plain Python pauses each handler at `await allm(q)`, so all three start before
    # any goes on; the jitted handler lets the loop's other tasks run at that await too.
    plain = served(handler)
    assert plain[1][:3] == ["start a, 1 in flight", "start b, 2 in flight",
                            "start c, 3 in flight"]
    assert served(jit(handler)) == plain


@op
async def streams(prompt: str) -> str:
    try:
        await asyncio.sleep(0.5)
        return prompt.upper()
    except asyncio.CancelledError:
        await asyncio.sleep(0.002)  # closing the stream takes a moment
        EVENTS.append("op cleaned up")
        raise


async def guarded(prompt: str) -> str:
    try:
        return await streams(prompt)
    finally:
        EVENTS.append("handler finally")


def disconnected(handle: Callable[[str], Any]) -> list[str]:
    """A client that cancels the handler's task (it went away), then what was logged."""
    EVENTS.clear()

    async def client() -> list[str]:
        task = asyncio.ensure_future(handle("x"))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        EVENTS.append("client saw the cancellation")
        await asyncio.sleep(0.05)  # anything that would still run afterwards shows here
        return list(EVENTS)

    return asyncio.run(client())


def test_a_cancelled_op_cleans_up_before_the_handlers_finally_as_in_plain_python() -> None:
    plain = disconnected(guarded)
    assert plain == ["op cleaned up", "handler finally", "client saw the cancellation"]
    assert disconnected(jit(guarded)) == plain


class Draft:
    def __init__(self) -> None:
        self.text = "first"


REVIEWED: list[str] = []


@op
async def review(draft: Draft) -> str:
    REVIEWED.append(draft.text)  # what the op saw, when it ran
    await asyncio.sleep(0.01)
    return draft.text.upper()


async def revise_then_review(draft: Draft, keep: bool) -> str:
    pending = review(draft)  # plain Python: its body has not started yet
    draft.text = "revised"
    if not keep:
        pending.close()  # discarded: its body never runs
        return "closed"
    return await pending


def test_an_op_given_the_users_object_starts_when_its_coroutine_is_awaited() -> None:
    for keep in (True, False):
        REVIEWED.clear()
        plain = asyncio.run(revise_then_review(Draft(), keep)), list(REVIEWED)
        REVIEWED.clear()
        assert (asyncio.run(jit(revise_then_review)(Draft(), keep)), REVIEWED) == plain
    assert plain == ("closed", [])  # closed before it ran


async def dispatch_if_coroutine(prompt: str) -> Any:
    result = allm(prompt)
    if inspect.iscoroutine(result):  # a tool registry mixing sync and async tools
        result = await result
    return result


async def coroutine_facts(prompt: str) -> Any:
    result = allm(prompt)
    facts = (type(result).__name__, result.__name__, inspect.getcoroutinestate(result),
             isinstance(result, types.CoroutineType))
    result.close()
    return facts


@pytest.mark.parametrize("fn", [dispatch_if_coroutine, coroutine_facts])
def test_an_async_op_call_gives_a_real_coroutine(fn: Callable[..., Any]) -> None:
    # (the ops started are not compared: a closed coroutine's op did start, a known limit)
    plain = outcome(fn, "q")[0]
    assert outcome(jit(fn), "q")[0] == plain == ("Q" if fn is dispatch_if_coroutine
                                                 else ("coroutine", "allm", "CORO_CREATED", True))


def test_awaits_of_real_coroutines_still_overlap() -> None:
    async def two(a: str, b: str) -> str:
        return f"{await allm(a)} {await allm(b)}"

    jitted = jit(two)
    assert asyncio.run(jitted("a", "b")) == asyncio.run(two("a", "b"))
    assert get_jit_stats(jitted)["max_parallelism"] == 2
