"""A jitted ``async def`` awaited with no asyncio loop running gives plain Python's result.

A coroutine can be driven without asyncio: by hand (``coro.send(None)`` until
``StopIteration``, as small schedulers and some test helpers do) or by another
framework. Plain Python's coroutine runs there; a jitted call waits for its ops on an
asyncio loop, so it runs as plain Python instead, and says so in its stats.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op

CALLS: list[str] = []


@op
async def shout(text: str) -> str:
    CALLS.append(text)
    return text.upper()


async def greet(name: str) -> str:
    first = await shout(name)
    second = await shout(name + "!")
    return f"{first} {second}"


async def failing(name: str) -> str:
    await shout(name)
    raise LookupError(f"no greeting for {name}")


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its end by hand, with no event loop."""
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value


def test_a_call_driven_by_hand_gives_plain_pythons_result() -> None:
    CALLS.clear()
    plain = [drive(greet("ann")), drive(greet("bob"))]
    plain_calls = list(CALLS)
    CALLS.clear()
    jitted = jit(greet)
    assert [drive(jitted("ann")), drive(jitted("bob"))] == plain == ["ANN ANN!", "BOB BOB!"]
    assert CALLS == plain_calls
    stats = get_jit_stats(jitted)
    assert stats["calls"] == 2
    assert "no asyncio event loop" in str(stats["fallbacks"])


def test_its_exception_is_plain_pythons() -> None:
    with pytest.raises(LookupError, match="no greeting for cy"):
        drive(failing("cy"))
    with pytest.raises(LookupError, match="no greeting for cy"):
        drive(jit(failing)("cy"))
