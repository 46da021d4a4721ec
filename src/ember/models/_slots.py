"""``Slots``: a concurrency cap shared by threads and event loops alike.

A provider's ``max_concurrency`` must hold for every caller in the process: plain
threads (``complete``), coroutines on any event loop (``acomplete``), streams. A
``threading.Semaphore`` would block an event loop and an ``asyncio.Semaphore``
belongs to one loop, so this is a small semaphore whose waiters are either a
``threading.Event`` (a thread) or a future on its own loop (a coroutine). A release
hands its slot straight to the first waiter, so waiters are served in order.

Each slot is held by an owner: the thread that took it with ``acquire``, or the task
that took it with ``aacquire``. An owner that holds every slot (a stream it has open and
not finished) and asks for another would wait for itself forever: that raises a
``ModelError`` instead (``acquire`` and ``aacquire`` return the owner to pass to
``release``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ember.models.errors import ModelError

__all__ = ["Slots", "limit_key", "may_take_slots"]

_Waiter = threading.Event | tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class Slots:
    """At most ``limit`` holders at once; ``acquire``/``release`` or ``aacquire``.

    Thread-safe: one lock guards the free count, the owners' counts and the waiter queue.

    Args:
        limit: the number of slots.
        label: who the slots belong to, for the message of a wait that would never end.

    Example:
        >>> slots = Slots(1)
        >>> owner = slots.acquire()
        >>> try:
        ...     slots.acquire()  # this thread would wait for itself
        ... except ModelError as error:
        ...     print(str(error)[:63])
        the provider (max_concurrency=1): its only slot is held by this
        >>> slots.release(owner)
    """

    def __init__(self, limit: int, label: str = "the provider") -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._label = label
        self._free = limit
        self._waiters: deque[_Waiter] = deque()
        self._held: dict[object, int] = {}

    def acquire(self) -> object:
        """Take a slot, blocking this thread until one is free; return its owner.

        Raises:
            ModelError: this thread holds every slot, so the wait would never end.
        """
        owner: object = threading.get_ident()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                self._hold(owner)
                return owner
            self.refuse_waiting_for_itself(owner, "thread")
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
        with self._lock:
            self._hold(owner)
        return owner

    async def aacquire(self) -> object:
        """Take a slot, awaiting one without blocking the event loop; return its owner.

        Raises:
            ModelError: this task holds every slot, so the wait would never end.
        """
        loop = asyncio.get_running_loop()
        owner: object = asyncio.current_task()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                self._hold(owner)
                return owner
            self.refuse_waiting_for_itself(owner, "task")
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
        with self._lock:
            self._hold(owner)
        return owner

    def release(self, owner: object = None) -> None:
        """Give back the slot ``owner`` held: to the first live waiter, else to the
        free count (``None``: a slot handed over that nobody took)."""
        with self._lock:
            held = self._held.pop(owner, 0) - 1
            if held > 0:
                self._held[owner] = held
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

    def _hold(self, owner: object) -> None:
        if owner is not None:
            self._held[owner] = self._held.get(owner, 0) + 1

    def refuse_waiting_for_itself(self, owner: object, kind: str) -> None:
        """Raise when ``owner`` (a ``kind``: ``"thread"`` or ``"task"``) holds every slot:
        only it could free one, so its wait for another would never end."""
        if owner is None or self._held.get(owner, 0) < self._limit:
            return
        only = "its only slot is" if self._limit == 1 else f"all {self._limit} of its slots are"
        raise ModelError(
            f"{self._label} (max_concurrency={self._limit}): {only} held by this {kind} "
            "(a stream it has open and not finished), so this call would wait for itself "
            "forever. Read the stream to "
            "its end or close it (`with models.stream(...) as stream:`) before calling "
            "the same provider again, or raise its max_concurrency."
        )

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
