"""``max_concurrency`` for op calls made outside a trace, and the slots bodies hold.

``op(max_concurrency=N)`` caps the calls of an op (or of its ``limit_key`` group) in the
whole process. Under ``@jit`` the engine takes a slot of the op's ``Limit`` for each of
its tasks; an op called outside a trace — plainly, from the body of another op, from a
thread of the user's — takes one here (``call_limited``). A thread waits for its slot;
a coroutine awaits it without blocking its event loop.

Nesting must not deadlock: plain Python runs a nested call while its caller waits for
it, so a call made where a slot of the same limit is already held (an op whose body
calls itself, or another op of its group) runs on that slot. The slots a piece of code
holds are a context variable (``hold``), set for each body the engine starts holding a
slot, and for each limited call made here. Tasks that a nested ``@jit`` issues in such a
body take the holder's slot one at a time (``for_task``: a lent limit of one).

A thread never waits where waiting could stop the slot's holder: on a thread running an
event loop (the holder may be a coroutine of that loop), or in a body the engine runs
inline inside a loop that has yet to start other tasks (``Drain.paused``; one of them
may hold the slot). There the call takes a free slot, or runs without one.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from ember.xcs.engine.task import Limit

__all__ = ["LimitOwner", "Limits", "call_limited", "for_task", "hold", "use_owner"]


class Limits:
    """The process's limits by ``limit_key``; each lives while something holds it."""

    def __init__(self) -> None:
        self._by_key: weakref.WeakValueDictionary[object, Limit] = \
            weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def of(self, op: Any) -> Limit:
        """The limit of ``op``'s group (``op.limit_key``); ops sharing a key with
        different caps get the smallest while they share it."""
        maximum = op.max_concurrency
        with self._lock:
            limit = self._by_key.get(op.limit_key)
            if limit is None:
                limit = Limit(maximum)
                self._by_key[op.limit_key] = limit
            elif maximum < limit.maximum:
                limit.maximum = maximum
            return limit


class LimitOwner(Protocol):
    """What limited calls need of the engine (``engine.driver.Engine``)."""

    @property
    def limits(self) -> Limits:
        """The process's limits."""
        ...

    def give_back(self, limit: Limit) -> None:
        """Release a slot of ``limit`` held by a call made here."""
        ...

    def may_wait(self) -> bool:
        """Whether this thread may block until a slot is free (see the module doc)."""
        ...


_owner: Callable[[], LimitOwner] | None = None


def use_owner(owner: Callable[[], LimitOwner]) -> None:
    """Set where the limits live: ``engine.driver.default_engine``, when it loads (ops
    sit above the engine's modules, which cannot import them)."""
    global _owner
    _owner = owner


# (limit held, the limit lent to tasks issued under it), innermost last.
_held: contextvars.ContextVar[tuple[tuple[Limit, Limit], ...]] = contextvars.ContextVar(
    "ember_xcs_held_limits", default=())


def hold(limit: Limit) -> contextvars.Token[tuple[tuple[Limit, Limit], ...]]:
    """Record in the current context that the code running here holds a slot of
    ``limit``; returns the token that undoes it."""
    return _held.set((*_held.get(), (limit, Limit(1))))


def _holds(limit: Limit) -> bool:
    return any(held is limit for held, _ in _held.get())


def for_task(limit: Limit) -> Limit:
    """The limit a task issued here takes: ``limit``, or when code running here holds a
    slot of it, the limit that lends that slot to one task at a time."""
    for held, lent in _held.get():
        if held is limit:
            limit = lent
    return limit


def call_limited(op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``op.fn(*args, **kwargs)`` with a slot of ``op``'s limit (an op called plainly).

    For a coroutine op the result is a coroutine that awaits its slot, then the body.
    """
    assert _owner is not None, "ember.xcs.engine.driver sets the owner as it loads"
    owner = _owner()
    limit = owner.limits.of(op)
    if op.is_coroutine:
        return _limited_coroutine(owner, limit, op.fn(*args, **kwargs))
    if _holds(limit):  # a nested call: it runs on its caller's slot
        return op.fn(*args, **kwargs)
    if not _take(owner, limit):
        return op.fn(*args, **kwargs)  # waiting could stop the slot's holder
    token = hold(limit)
    try:
        return op.fn(*args, **kwargs)
    finally:
        _held.reset(token)
        owner.give_back(limit)


class _ThreadWaiter:
    """A thread blocked until a slot is handed to it."""

    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()

    def take(self) -> bool:
        self.event.set()
        return True


def _take(owner: LimitOwner, limit: Limit) -> bool:
    """Take a slot of ``limit`` for this thread; ``False``: it runs without one."""
    asyncio = sys.modules.get("asyncio")
    if (asyncio is not None and asyncio._get_running_loop() is not None) \
            or not owner.may_wait():
        return limit.try_acquire()
    waiter = _ThreadWaiter()
    if limit.acquire(waiter):
        return True
    try:
        waiter.event.wait()
    except BaseException:  # Ctrl-C: give back a slot handed over meanwhile
        if not limit.withdraw(waiter):
            owner.give_back(limit)
        raise
    return True


class _LoopWaiter:
    """A coroutine awaiting a slot on its event loop."""

    __slots__ = ("future", "limit", "loop", "owner")

    def __init__(self, owner: LimitOwner, limit: Limit) -> None:
        import asyncio  # loaded: a coroutine is running

        self.owner = owner
        self.limit = limit
        self.loop = asyncio.get_running_loop()
        self.future = self.loop.create_future()

    def take(self) -> bool:
        if self.future.done():  # cancelled: it no longer waits
            return False
        try:
            self.loop.call_soon_threadsafe(self._hand_over)
        except RuntimeError:  # its loop is closed: nobody waits there
            return False
        return True

    def _hand_over(self) -> None:
        if self.future.done():  # cancelled between the release and now: pass it on
            self.owner.give_back(self.limit)
        else:
            self.future.set_result(None)


async def _limited_coroutine(owner: LimitOwner, limit: Limit,
                             body: Coroutine[Any, Any, Any]) -> Any:
    if _holds(limit):
        return await body
    waiter = _LoopWaiter(owner, limit)
    if not limit.acquire(waiter):
        try:
            await waiter.future
        except BaseException:
            # A slot handed over before the cancellation is ours to give back; one
            # handed to the cancelled future is passed on by ``_hand_over``.
            if not limit.withdraw(waiter) and waiter.future.done() \
                    and not waiter.future.cancelled():
                owner.give_back(limit)
            body.close()
            raise
    token = hold(limit)
    try:
        return await body
    finally:
        _held.reset(token)
        owner.give_back(limit)
