"""Calls of one cache key that run at once share the first one's computation; async
followers wait without taking a thread, so the leader's own ``asyncio.to_thread``
still gets one."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from ember.xcs import jit, op
from ember.xcs.cache import MemoryStore, use

PAID: list[str] = []


def _blocking(key: str) -> str:
    time.sleep(0.05)
    return key.upper()


@op(cache=True)
async def lookup(key: str) -> str:
    PAID.append(key)
    await asyncio.sleep(0.02)
    return await asyncio.to_thread(_blocking, key)


def test_many_async_followers_of_one_key_leave_the_leader_its_threads() -> None:
    followers = min(32, (os.cpu_count() or 1) + 4) + 4  # more than the default executor

    async def enrich(keys: list[str]) -> list[str]:
        return [await lookup(k) for k in keys]

    def enrich_sync(keys: list[str]) -> list[str]:
        return [lookup(k) for k in keys]

    for program in (lambda keys: asyncio.run(jit(enrich)(keys)), jit(enrich_sync)):
        PAID.clear()
        with use(MemoryStore()):
            assert program(["no"] * followers) == ["NO"] * followers
        assert PAID == ["no"]  # one body run, as plain Python's first call and its hits



def test_a_sync_call_on_the_loop_of_a_running_async_call_of_its_key_does_not_wait() -> None:
    """The awaited model call leads the key's flight and is suspended on the event loop;
    the plain call of the same key from an async tool on that loop's thread must not
    block it (a deadlock), with or without jit."""
    from ember.api.models import models
    from ember.xcs import Config, op

    async def check_async(prompt: str) -> str:
        await asyncio.sleep(0.01)
        return "checked: " + models("simulated/writer", prompt, latency=0.05)

    check = op(check_async)

    async def pipeline(prompt: str) -> tuple[str, str]:
        draft = models.acall("simulated/writer", prompt, latency=0.05)
        checked = check(prompt)
        return str(await draft), str(await checked)

    async def together(prompt: str) -> tuple[str, str]:
        draft, checked = await asyncio.gather(models.acall("simulated/writer", prompt,
                                                           latency=0.05),
                                              check_async(prompt))
        return str(draft), checked

    outcomes: dict[str, object] = {}

    def run() -> None:
        outcomes["plain"] = asyncio.run(together("tides"))
        with use(MemoryStore()):
            outcomes["plain cached"] = asyncio.run(together("tides"))
        cached = jit(pipeline, config=Config(result_cache=MemoryStore()))
        outcomes["jit cached"] = asyncio.run(cached("tides"))

    runner = threading.Thread(target=run, daemon=True)  # a hang fails the test, not the run
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "a synchronous follower blocked the event loop"
    reply = outcomes["plain"]
    assert outcomes == {"plain": reply, "plain cached": reply, "jit cached": reply}
