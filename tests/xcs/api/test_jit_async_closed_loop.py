"""A jitted ``async def`` call whose event loop is closed under it stops, as in plain Python.

``loop.close()`` after ``run_until_complete`` returned, with a task still pending (no
``asyncio.run`` to cancel it), freezes that task for ever in plain Python: no op of its
call runs again. Under ``@jit`` the ops run on XCS's own loop, and the glue has issued a
chain of them ahead, so they must be stopped when the caller's loop closes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from ember.models import ModelsAPI, Provider, ProviderRegistry, Usage
from ember.models.response import Completion
from ember.xcs import jit, op

STEP = 0.1
EVENTS: list[str] = []


@op
async def step(text: str) -> str:
    EVENTS.append(f"start {text}")
    await asyncio.sleep(STEP)
    EVENTS.append(f"done {text}")
    return text + "+"


async def agent(text: str) -> str:
    for _ in range(4):  # each step needs the one before: a chain the glue issues ahead
        text = await step(text)
    return text


async def _first_step_started() -> None:
    """Run the loop until the first step has started (a first jitted call also rewrites
    the function, which a loaded machine may take longer than a fixed pause for)."""
    deadline = time.monotonic() + 5
    while not EVENTS and time.monotonic() < deadline:
        await asyncio.sleep(0.002)


def _closed_while_running(fn: Callable[[str], Coroutine[Any, Any, str]]) -> list[str]:
    """What ran of ``fn("go")`` when its loop is closed while its first step runs."""
    EVENTS.clear()
    loop = asyncio.new_event_loop()
    task = loop.create_task(fn("go"))
    loop.run_until_complete(_first_step_started())
    loop.close()
    time.sleep(STEP * 5)  # the whole chain's time: nothing more may start meanwhile
    del task  # plain Python's coroutine gets GeneratorExit here; XCS's call ends here
    gc.collect()
    return list(EVENTS)


class Recorded(Provider):
    """A provider recording the requests it sends."""

    def send(self, model: str, messages: list[Any], params: Any) -> Completion:
        raise AssertionError("a jitted or awaited call takes the async path")

    async def asend(self, model: str, messages: list[Any], params: Any) -> Completion:
        text = messages[-1]["content"]
        EVENTS.append(f"start {text}")
        await asyncio.sleep(STEP)
        EVENTS.append(f"done {text}")
        return Completion(text + "+", Usage.of(1, 1))


registry = ProviderRegistry()
registry.register("recorded", Recorded())
models = ModelsAPI(registry)


async def model_agent(text: str) -> str:
    for _ in range(4):
        text = (await models.acall("recorded/m", text)).text
    return text


@pytest.mark.parametrize("fn", [agent, model_agent], ids=["async ops", "model calls"])
def test_ops_of_a_call_whose_loop_was_closed_do_not_run_on(fn: Any) -> None:
    plain = _closed_while_running(fn)
    jitted = _closed_while_running(jit(fn))
    assert plain == ["start go"]
    assert jitted == plain
