"""``in_worker_thread``: a blocking provider hook awaited from an event loop.

``Provider.asend`` (by default) runs the provider's ``send`` in a worker thread. The
thread's outcome comes back as a value, never as the exception of an asyncio task or
future, because asyncio cannot carry every exception a ``send`` may raise:

- a ``StopIteration`` (a scripted fake whose ``next(replies)`` ran out) cannot be
  set on a future at all: the future would stay pending and the call would hang;
- a ``KeyboardInterrupt`` or ``SystemExit`` that ends an asyncio task is re-raised
  by the event loop itself, which stops it: under ``@jit`` that is the engine's loop,
  and every model call after it would wait for ever.

Here they are raised in the awaiting coroutine instead, as from any ``async def``.

The threads are those of a pool of this module's (``ember-send-N``), not of the
loop's default executor: that one holds at most ``min(32, cpu count + 4)`` threads,
shared by every call on the loop (under ``@jit``, by every jitted call of the
process), so a fan-out of a provider's calls would overlap only that many at a time
(6 on two cores) where plain callers, each in its own thread, overlap all. The pool
starts a thread only when none is idle, up to ``MAX_THREADS``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MAX_THREADS", "in_worker_thread"]

T = TypeVar("T")

MAX_THREADS = 512
"""Most sends running at once in the pool (the engine's cap on blocking op bodies)."""

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The pool, made on first use."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = concurrent.futures.ThreadPoolExecutor(MAX_THREADS, "ember-send")
    return _pool


def _forget_after_fork() -> None:
    """In a forked child the pool's threads do not exist: make a new pool there."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _outcome(call: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    """``call()``'s result or exception, as a value the future can carry."""
    try:
        return call(), None
    except BaseException as error:  # every kind: carried back and re-raised
        return None, error


async def in_worker_thread(function: Callable[..., T], /, *args: Any) -> T:
    """``function(*args)`` in a thread of the pool, with the caller's context (as
    ``asyncio.to_thread``); its exception, whatever its kind, raised here.

    Cancelled meanwhile (an earlier call of the program failed), it still waits for
    the thread, whose work cannot be taken back: nothing of a call that has raised
    keeps running, as in plain Python, where the work would have finished.

    Example:
        >>> asyncio.run(in_worker_thread(sum, [1, 2, 3]))
        6
    """
    loop = asyncio.get_running_loop()
    run = functools.partial(contextvars.copy_context().run, function, *args)
    done = loop.run_in_executor(_shared_pool(), _outcome, run)
    try:
        value, error = await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])  # its outcome is dropped
        raise
    if error is None:
        return value  # type: ignore[return-value]  # None only when function returned it
    try:
        raise error
    finally:
        del error  # no cycle through this frame

