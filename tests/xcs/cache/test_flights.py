"""Calls of one cache key that run at once share the first one's computation; async
followers wait without taking a thread, so the leader's own ``asyncio.to_thread``
still gets one."""

from __future__ import annotations

import asyncio
import os
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
