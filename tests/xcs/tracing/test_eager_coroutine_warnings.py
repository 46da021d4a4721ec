"""An ``async def`` op's coroutine made in a ``try`` block warns as plain Python's does.

Such a call runs eagerly (see docs/semantics.md, "`try` and `with` blocks run ops
eagerly"): its coroutine waits for the op's outcome. Dropped without an ``await``, it
warns "coroutine '<op>' was never awaited", as in plain Python, and nothing else; a
task of it cancelled before it started (a sibling in an ``asyncio.TaskGroup`` failed)
warns nothing, as in plain Python. XCS's own waiting must not add a warning of its own.
"""

from __future__ import annotations

import asyncio
import gc
import warnings

from ember.xcs import jit, op


@op
async def ainc(value: int) -> int:
    await asyncio.sleep(0.001)
    return value + 1


async def dropped(x: int) -> int:
    try:
        pending = ainc(x)  # made in a try block, never awaited
    finally:
        pass
    del pending
    return x


async def failing() -> None:
    raise ValueError("boom")


async def cancelled_before_start(x: int) -> int:
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(failing())
            group.create_task(ainc(x))
    except* ValueError:
        pass
    return x


def warnings_of(fn, inputs: tuple[int, ...], jitted: bool) -> tuple[list[int], list[str]]:
    """The results of calls of ``fn`` (jitted, or not), and every warning they gave,
    their objects collected (the jitted function too, with what its calls left)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        called = jit(fn) if jitted else fn
        results = [asyncio.run(called(x)) for x in inputs]
        del called
        gc.collect()
        for warning in caught:  # a "never awaited" warning holds its coroutine: let go
            warning.source = None
        gc.collect()
    return results, sorted(str(warning.message) for warning in caught)


def test_a_dropped_eager_coroutine_warns_as_plain_python() -> None:
    plain = warnings_of(dropped, (1, 2), jitted=False)
    assert plain == ([1, 2], ["coroutine 'ainc' was never awaited"] * 2)
    assert warnings_of(dropped, (1, 2), jitted=True) == plain  # first call and a later one


def test_a_task_cancelled_before_it_started_warns_nothing() -> None:
    plain = warnings_of(cancelled_before_start, (1, 2), jitted=False)
    assert plain == ([1, 2], [])
    assert warnings_of(cancelled_before_start, (1, 2), jitted=True) == plain
