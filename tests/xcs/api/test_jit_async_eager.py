"""``async def`` ops that run eagerly (try and with blocks) behave as calling them does."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import AsyncIterator

import pytest

from ember.xcs import jit, op


@op
async def answer(prompt: str) -> str:
    await asyncio.sleep(0.003)
    if prompt == "bad":
        raise ValueError(f"bad prompt {prompt!r}")
    return f"reply:{prompt}"


async def gather_in_try(prompts: list[str]) -> object:
    try:
        return await asyncio.gather(*[answer(p) for p in prompts])
    except ValueError as error:
        return f"caught {error}"


async def call_then_await(prompt: str) -> object:
    try:
        pending = answer(prompt)      # calling never raises ...
    except ValueError:
        return "raised at the call"
    try:
        return await pending          # ... awaiting does
    except ValueError as error:
        return f"raised at the await: {error}"


@pytest.mark.parametrize("prompts", [["a", "bad", "c"], ["a", "b"]])
def test_a_failing_async_op_in_a_try_block_raises_where_awaited_and_warns_nothing(
        prompts: list[str]) -> None:
    expected = asyncio.run(gather_in_try(prompts))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail here
        assert asyncio.run(jit(gather_in_try)(prompts)) == expected
        gc.collect()


@pytest.mark.parametrize("prompt", ["bad", "fine"])
def test_an_eager_async_op_raises_at_the_await_not_at_the_call(prompt: str) -> None:
    expected = asyncio.run(call_then_await(prompt))
    assert asyncio.run(jit(call_then_await)(prompt)) == expected


@op
async def slow(prompt: str) -> str:
    await asyncio.sleep(0.2)
    return f"slow:{prompt}"


def test_an_eager_async_op_never_blocks_the_callers_event_loop() -> None:
    async def guarded(prompt: str) -> str:
        try:
            return await slow(prompt)    # eager (a try block), awaited
        except ValueError:
            return "failed"

    async def main() -> tuple[str, float]:
        gaps: list[float] = []

        async def tick() -> None:
            last = time.perf_counter()
            for _ in range(30):
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        result = await jit(guarded)("q")
        await ticker
        return result, max(gaps)

    result, worst_gap = asyncio.run(main())
    assert result == "slow:q"
    assert worst_gap < 0.1, f"the loop was blocked for {worst_gap * 1000:.0f} ms"


def test_wait_for_around_an_eager_async_op_times_out_and_cancels_it() -> None:
    async def bounded(prompt: str) -> str:
        try:
            return await asyncio.wait_for(slow(prompt), 0.02)
        except TimeoutError:
            return "timed out"

    started = time.perf_counter()
    assert asyncio.run(jit(bounded)("q")) == asyncio.run(bounded("q")) == "timed out"
    assert time.perf_counter() - started < 0.15  # neither waited for the 0.2 s op


# -- async for / async with over op results ---------------------------------------------

@op
async def tokens(prompt: str) -> AsyncIterator[str]:  # an async generator op
    for token in prompt.split():
        await asyncio.sleep(0.001)
        yield token.upper()


class Stream:
    """A streaming reply: async-iterable and an async context manager."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.closed = False

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> str:
        if not self.words:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        return self.words.pop(0)

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True


@op
async def open_stream(prompt: str) -> Stream:
    await asyncio.sleep(0.002)
    return Stream(prompt.split())


async def streamed(prompt: str) -> list[object]:
    generated = [token async for token in tokens(prompt)]
    looped = []
    async for word in await open_stream(prompt):
        looped.append(word)
    reply = await open_stream(prompt)
    async with reply as stream:
        held = [word async for word in stream]
    return [generated, looped, held, reply.closed]


@pytest.mark.parametrize("prompt", ["a b", "hello world again", ""])
def test_async_for_and_async_with_over_op_results(prompt: str) -> None:
    expected = asyncio.run(streamed(prompt))
    fast = jit(streamed)
    assert asyncio.run(fast(prompt)) == expected
    assert asyncio.run(fast(prompt)) == expected
