"""Calls of one cache key that run at once: the first computes, the others wait for it.

In plain Python the second of two calls with the same key is a cache hit: it comes
after the first has stored its value. Under ``@jit`` both may run at once, and both
would miss and pay for the body. So the calls of a key that is being computed join
the first one's ``Flight`` and take its value (a failure of the first lets them run
themselves, as a plain second call would after a failure).

A synchronous follower never blocks a thread that runs an event loop: the leader may be
a coroutine suspended on that very loop (``await models.acall(p)`` beside a plain
``models(p)`` in an async tool), which could then never resume. It computes the value
itself instead, as a plain call made before the first one had finished would.

A call shipped to another process (Dask) joins its key's flight in the caller, and
follows without holding a thread (``on_land``): it is answered from the store once the
leader's result is stored, as its plain counterpart, which came after, would be.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from ember.xcs.cache.store import MISSING

__all__ = ["Flight"]


class _Landing:
    """The computation of one key in progress, shared by the calls waiting for it."""

    __slots__ = ("done", "value", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = MISSING
        self.waiters: list[Callable[[], None]] = []  # called when it lands: followers


_running: dict[tuple[int, str], _Landing] = {}  # (id of the store, key) -> in progress
_lock = threading.Lock()


class Flight:
    """One call's place in the computation of its key; ``leader``: it computes it."""

    __slots__ = ("_entry", "_landing", "leader")

    def __init__(self, entry: tuple[int, str], landing: _Landing, leader: bool) -> None:
        self._entry = entry
        self._landing = landing
        self.leader = leader

    @classmethod
    def join(cls, store: Any, key: str) -> Flight:
        """The call's place for ``key`` in ``store``: following a running call, or leading."""
        entry = (id(store), key)
        with _lock:
            landing = _running.get(entry)
            if landing is not None:
                return cls(entry, landing, leader=False)
            landing = _running[entry] = _Landing()
        return cls(entry, landing, leader=True)

    def land(self, value: Any) -> None:
        """The leader is done: ``value`` (``MISSING`` when it failed) for the others."""
        if not self.leader:
            return
        landing = self._landing
        landing.value = value
        with _lock:
            if _running.get(self._entry) is landing:
                del _running[self._entry]
            landing.done.set()
            waiters, landing.waiters = landing.waiters, []
        for wake in waiters:  # each of them: the leader's own outcome is not theirs to change
            try:
                wake()
            except Exception:
                logging.getLogger(__name__).exception("ember.xcs result cache: waking a "
                                                      "follower of a cached call failed")

    def wait(self) -> Any:
        """A follower: the leader's value, or ``MISSING`` if it failed, or without
        waiting when this thread runs an event loop (see the module docstring)."""
        landing = self._landing
        if not landing.done.is_set():
            asyncio = sys.modules.get("asyncio")  # not imported: no loop can be running
            if asyncio is not None and asyncio.events._get_running_loop() is not None:
                return MISSING
            landing.done.wait()
        return landing.value

    async def landed(self) -> None:
        """Wait for the leader without blocking the event loop (or taking a thread of
        it: the leader's own body may need one, for ``asyncio.to_thread``)."""
        import asyncio

        loop = asyncio.get_running_loop()
        with _lock:
            if self._landing.done.is_set():
                return
            future = loop.create_future()
            self._landing.waiters.append(lambda: _wake(loop, future))
        await future

    def on_land(self, then: Callable[[Any], None]) -> None:
        """Call ``then(value)`` once the leader is done (at once if it is), on the thread
        that lands it: ``value`` as ``wait`` gives it. For a follower that must not hold a
        thread while it waits (a call shipped to Dask, answered by a callback).
        """
        landing = self._landing
        with _lock:
            if not landing.done.is_set():
                landing.waiters.append(lambda: then(landing.value))
                return
        then(landing.value)


def _wake(loop: Any, future: Any) -> None:
    """Resume an async follower on its own loop (if that loop still runs)."""
    try:
        loop.call_soon_threadsafe(_settle_wake, future)
    except RuntimeError:
        pass  # its loop has closed: nobody waits there any more


def _settle_wake(future: Any) -> None:
    if not future.done():
        future.set_result(None)
