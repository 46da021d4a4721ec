"""Transforms called in a jitted ``async def`` give what they give outside ``@jit``.

``vmap(ask)(questions)`` with ``ask`` an ``async def`` op gives the answers when the
function runs plainly (the transform runs its items in a trace of its own); under
``@jit`` its items join the caller's trace, and must still give values, not
coroutines nobody awaits. The items still run concurrently with the glue's own ops.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ember.xcs import jit, op, pmap, scan, vmap

calls: list[str] = []


@op
async def ask(question):
    calls.append(question)
    await asyncio.sleep(0.05)
    if question == "bad":
        raise KeyError(f"no answer to {question}")
    return question.upper()


async def batch(questions):
    answers = vmap(ask)(questions)
    extra = await ask("z")
    return answers, extra


async def sharded(questions):
    return pmap(ask)(questions)


async def scanned(questions):
    return scan(lambda count, q: (count + 1, ask(q)), 0, questions)


@pytest.mark.parametrize("fn", [batch, sharded, scanned])
@pytest.mark.parametrize("questions", [["a", "b"], ["c"], []])
def test_async_ops_in_items_give_values(fn, questions):
    calls.clear()
    plain = asyncio.run(fn(questions))
    plain_calls = sorted(calls)
    calls.clear()
    assert asyncio.run(jit(fn)(questions)) == plain
    assert sorted(calls) == plain_calls


def test_failing_item_raises_as_plain():
    with pytest.raises(KeyError, match="no answer to bad"):
        asyncio.run(jit(batch)(["a", "bad"]))


def test_items_overlap_with_the_glue_ops():
    jitted = jit(batch)
    asyncio.run(jitted(["w"]))
    started = time.perf_counter()
    assert asyncio.run(jitted(["a", "b", "c", "d"])) == (["A", "B", "C", "D"], "Z")
    assert time.perf_counter() - started < 0.2  # five 50 ms ops at once, not 250 ms
