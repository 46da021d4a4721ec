"""``async def`` ops that run eagerly (try and with blocks) behave as calling them does."""

from __future__ import annotations

import asyncio
import gc
import warnings

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
