"""``Slots``: a concurrency cap shared by threads and event loops alike.

A provider's ``max_concurrency`` must hold for every caller in the process: plain
threads (``complete``), coroutines on any event loop (``acomplete``), streams. A
``threading.Semaphore`` would block an event loop and an ``asyncio.Semaphore``
belongs to one loop, so this is a small semaphore whose waiters are either a
``threading.Event`` (a thread) or a future on its own loop (a coroutine). A release
hands its slot straight to the first waiter, so waiters are served in order.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Slots", "limit_key", "may_take_slots"]

_Waiter = threading.Event | tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class Slots:
    """At most ``limit`` holders at once; ``acquire``/``release`` or ``aacquire``.

    Thread-safe: one lock guards the free count and the waiter queue.

    Example:
        >>> slots = Slots(1)
        >>> slots.acquire(); slots.release()
    """

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._free = limit
        self._waiters: deque[_Waiter] = deque()

    def acquire(self) -> None:
        """Take a slot, blocking this thread until one is free."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            event = threading.Event()
            self._waiters.append(event)
        try:
            event.wait()
        except BaseException:
            # Interrupted (KeyboardInterrupt): give back a slot handed over meanwhile.
            with self._lock:
                handed_over = event not in self._waiters
                if not handed_over:
                    self._waiters.remove(event)
            if handed_over:
                self.release()
            raise

    async def aacquire(self) -> None:
        """Take a slot, awaiting one without blocking the event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            future: asyncio.Future[None] = loop.create_future()
            waiter = (loop, future)
            self._waiters.append(waiter)
        try:
            await future
        except BaseException:
            with self._lock:
                queued = waiter in self._waiters
                if queued:
                    self._waiters.remove(waiter)
            # A slot handed over before the cancellation is ours to give back; one
            # handed over to the cancelled future is given back by ``_hand_over``.
            if not queued and future.done() and not future.cancelled():
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back: to the first live waiter, else to the free count."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if isinstance(waiter, threading.Event):
                    waiter.set()
                    return
                loop, future = waiter
                if future.done():
                    continue
                try:
                    loop.call_soon_threadsafe(self._hand_over, future)
                except RuntimeError:  # that loop is closed: nobody is waiting there
                    continue
                return
            self._free += 1

    def _hand_over(self, future: asyncio.Future[None]) -> None:
        if future.done():  # cancelled between the release and this callback
            self.release()
        else:
            future.set_result(None)


def limit_key(provider_name: str) -> tuple[str, str]:
    """The ``limit_key`` of the model ops of the provider registered as ``provider_name``:
    under ``@jit`` the engine caps them together, at the provider's ``max_concurrency``."""
    return ("provider", provider_name)


def may_take_slots(provider_name: str) -> Callable[[Any], bool]:
    """Which ops may take one of the slots of provider ``provider_name``: its model
    calls, and every op that is no model call (its body may call the provider); the
    model calls of other providers never do.

    Example:
        >>> from ember.xcs import Op
        >>> takes = may_take_slots("local")
        >>> [takes(Op(len, limit_key=key)) for key in (limit_key("local"), limit_key("cloud"))]
        [True, False]
        >>> takes(Op(len))
        True
    """
    own = limit_key(provider_name)

    def takes(op: Any) -> bool:
        key = op.limit_key
        return key == own or not (type(key) is tuple and len(key) == 2 and key[0] == "provider")

    return takes
