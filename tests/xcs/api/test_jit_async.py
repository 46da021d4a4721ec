"""``@jit async def``: awaited like the coroutine, parallel, never blocking the event loop."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from ember.xcs import get_jit_stats, jit, op


@op
async def model(question: object) -> str:
    await asyncio.sleep(0.1)
    return f"<{question}>"


@op
def blocking_model(question: object) -> str:
    time.sleep(0.1)
    return f"[{question}]"


@op
async def broken(question: object) -> str:
    await asyncio.sleep(0.01)
    raise LookupError(f"no answer for {question}")


async def ensemble(questions: list[object]) -> dict[str, object]:
    answers = [await model(q) for q in questions]
    kept = [a for a in answers if a is not None]
    verdict = None
    if kept[0]:
        verdict = await model(" | ".join(kept))
    extra = blocking_model(len(kept))
    return {"answers": answers, "verdict": verdict, "extra": extra,
            "summary": f"{len(kept)} answers"}


async def fails(question: str) -> str:
    first = await broken(question)
    return f"got {first}"


def test_awaited_results_equal_the_plain_coroutine_and_overlap() -> None:
    fast = jit(ensemble)
    for call in range(3):
        questions = [f"q{call}-{i}" for i in range(8)]
        started = time.perf_counter()
        result = asyncio.run(fast(questions))
        elapsed = time.perf_counter() - started
        assert result == asyncio.run(ensemble(questions))
        assert elapsed < 0.5, f"call {call}: {elapsed:.3f}s for two rounds of 100 ms (plain: 1 s)"
    assert get_jit_stats(fast)["calls"] == 3


def test_exceptions_keep_their_type_and_message() -> None:
    with pytest.raises(LookupError, match="no answer for q") as caught:
        asyncio.run(jit(fails)("q"))
    with pytest.raises(LookupError, match="no answer for q") as plain:
        asyncio.run(fails("q"))
    assert str(caught.value) == str(plain.value)


def test_a_running_loop_is_never_blocked_for_long() -> None:
    fast = jit(ensemble)

    async def main() -> tuple[object, float]:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        result = await fast([1, 2, 3, 4, 5, 6, 7, 8])
        stop.set()
        await ticking
        return result, max(gaps)

    result, worst = asyncio.run(main())
    assert result["summary"] == "8 answers"  # type: ignore[index]
    assert worst < 0.05, f"the loop was blocked for {worst * 1000:.0f} ms"


def test_works_from_a_thread_and_inside_a_running_loop() -> None:
    fast = jit(ensemble)
    results: list[object] = []

    def in_thread() -> None:
        results.append(asyncio.run(fast(["t"])))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(10)
    assert results and results[0]["answers"] == ["<t>"]  # type: ignore[index]

    async def nested() -> object:
        return await asyncio.gather(fast(["a"]), fast(["b"]))

    first, second = asyncio.run(nested())
    assert first["answers"] == ["<a>"] and second["answers"] == ["<b>"]  # type: ignore[index]


def test_gather_of_op_results_inside_jitted_async_code() -> None:
    @jit
    async def gathered(n: int) -> list[str]:
        return list(await asyncio.gather(*[model(i) for i in range(n)]))

    started = time.perf_counter()
    assert asyncio.run(gathered(6)) == [f"<{i}>" for i in range(6)]
    assert time.perf_counter() - started < 0.3


def test_sync_jit_called_on_an_event_loop_thread_neither_deadlocks_nor_complains() -> None:
    @jit
    def sync_fan(n: int) -> list[str]:
        return [model(i) for i in range(n)]  # coroutine ops from sync jitted code

    async def handler() -> list[str]:
        return sync_fan(4)

    started = time.perf_counter()
    assert asyncio.run(handler()) == [f"<{i}>" for i in range(4)]
    assert time.perf_counter() - started < 0.3


def test_op_async_def_outside_any_trace_is_awaited_like_without_the_decorator() -> None:
    async def plain_code() -> list[str]:
        return [await model("x"), await model("y")]

    assert asyncio.run(plain_code()) == ["<x>", "<y>"]


async def awaited_in_blocks(questions: list[object]) -> dict[str, object]:
    try:
        first = await model(questions[0])           # an op in a try block runs eagerly
    except LookupError:
        first = "none"
    async with asyncio.TaskGroup() as group:          # so does one in a with block
        tasks = [group.create_task(model(q)) for q in questions]
    pending = model("later")                          # a coroutine, awaited further down
    try:
        await broken("x")
    except LookupError as error:
        failure = str(error)
    return {"first": first, "all": [t.result() for t in tasks], "later": await pending,
            "failure": failure}


@pytest.mark.parametrize("call", [1, 2])
def test_async_ops_called_in_try_and_with_blocks_stay_awaitable(call: int) -> None:
    expected = asyncio.run(awaited_in_blocks(["a", "b"]))
    assert expected["all"] == ["<a>", "<b>"]
    fast = jit(awaited_in_blocks)
    assert asyncio.run(fast(["a", "b"])) == expected


def test_an_eager_async_op_in_sync_glue_gives_a_coroutine_as_in_plain_python() -> None:
    def sync_glue() -> str:
        try:
            pending = model("q")
        finally:
            pass
        assert asyncio.iscoroutine(pending)
        return asyncio.run(pending)

    assert jit(sync_glue)() == sync_glue() == "<q>"


async def two_steps(question: str) -> str:
    first = await model(question)
    return f"{first} then {await model(first)}"


def test_a_call_leaves_no_lazy_value_behind_to_repair() -> None:
    # The result was held by the call's own coroutine while escape repair looked for
    # holders, so every call paid a full search (milliseconds) and counted an escape.
    fast = jit(two_steps)

    async def calls() -> list[str]:
        return [await fast(f"q{i}") for i in range(3)]

    assert asyncio.run(calls()) == [asyncio.run(two_steps(f"q{i}")) for i in range(3)]
    stats = get_jit_stats(fast)
    assert (stats["escapes"], stats["unrepaired_escapes"]) == (0, {})


def test_a_jitted_async_function_is_a_coroutine_function_to_asyncio_and_frameworks() -> None:
    import inspect

    async def handler(text: str) -> str:
        return (await model(text)).upper()

    class Agent:
        @jit
        async def step(self, text: str) -> str:
            return await model(text)

    jitted = jit(handler)
    assert asyncio.iscoroutinefunction(jitted)
    assert asyncio.iscoroutinefunction(Agent().step)
    assert inspect.iscoroutinefunction(jitted)  # 3.11's reads the code flags it is shown
    assert inspect.iscoroutinefunction(Agent().step)
    assert inspect.signature(jitted) == inspect.signature(handler)
    assert not inspect.iscoroutinefunction(jit(lambda x: x))

    def call_handler(fn, text):  # how frameworks choose to await a handler
        return asyncio.run(fn(text)) if asyncio.iscoroutinefunction(fn) else fn(text)

    assert call_handler(jitted, "a") == call_handler(handler, "a") == "<A>"
    coroutine = jitted("b")
    assert coroutine.__name__ == "handler" and "handler" in repr(coroutine)
    assert asyncio.run(coroutine) == "<B>"
    assert not asyncio.iscoroutinefunction(jit(lambda x: x))


class FinalAnswer(BaseException):
    """Control flow of an agent loop: not an Exception."""


@op
async def failing_search(query: str) -> str:
    await asyncio.sleep(0.02)
    raise ConnectionError(f"search down for {query!r}")


@op
def failing_lookup(query: str) -> str:
    time.sleep(0.02)
    raise ConnectionError(f"lookup down for {query!r}")


def test_a_base_exception_raised_by_the_glue_after_a_failed_op_gives_the_op_failure() -> None:
    async def agent(query: str) -> str:
        await failing_search(query)
        raise FinalAnswer(f"answer from {query}")

    def sync_agent(query: str) -> str:
        failing_lookup(query)
        raise FinalAnswer(f"answer from {query}")

    for _ in range(2):
        with pytest.raises(ConnectionError, match="search down for 'q'"):
            asyncio.run(jit(agent)("q"))
        with pytest.raises(ConnectionError, match="lookup down for 'q'"):
            jit(sync_agent)("q")

    async def finishes(query: str) -> str:
        await model(query)
        raise FinalAnswer(query)

    with pytest.raises(FinalAnswer, match="q"):  # no op failed: the glue's own raise
        asyncio.run(jit(finishes)("q"))


@pytest.mark.parametrize("shape", ["serial", "try", "effect"])
def test_a_timeout_ends_an_async_call_that_awaits_an_op_eagerly(shape: str) -> None:
    from ember.xcs import Config, XCSTimeoutError

    @op
    async def stuck(question: str) -> str:
        await asyncio.sleep(2)
        return question

    recorded = op(stuck.fn, effect=True) if shape == "effect" else stuck

    async def agent(question: str) -> str:
        if shape == "try":
            try:
                return await recorded(question)
            except ValueError:
                return "?"
        return await recorded(question)

    config = Config(timeout=0.1, parallel=shape != "serial")
    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError):
        asyncio.run(jit(agent, config=config)("q"))
    assert time.perf_counter() - started < 1.0


def test_wrong_arguments_raise_at_the_call_as_plain_python_does() -> None:
    import warnings

    async def answer(question: str, style: str) -> str:
        return await model(question) + style

    fast = jit(answer)
    for arguments, keywords in (((), {}), (("b",), {}), (("a", "!", 3), {}),
                                (("a",), {"styl": "!"})):
        with pytest.raises(TypeError) as plain:
            answer(*arguments, **keywords)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no coroutine left behind un-awaited
            with pytest.raises(TypeError, match=f"^{re.escape(str(plain.value))}$"):
                fast(*arguments, **keywords)
    assert asyncio.run(fast("a", style="!")) == "<a>!"
