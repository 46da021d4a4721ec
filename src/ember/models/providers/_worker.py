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
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["in_worker_thread"]

T = TypeVar("T")


def _outcome(call: Callable[[], T]) -> tuple[bool, T | BaseException]:
    """``call()``'s result or exception, as a value the future can carry."""
    try:
        return True, call()
    except BaseException as error:  # every kind: carried back and re-raised
        return False, error


async def in_worker_thread(function: Callable[..., T], /, *args: Any) -> T:
    """``function(*args)`` in the loop's default executor, with the caller's context
    (as ``asyncio.to_thread``); its exception, whatever its kind, raised here.

    Cancelled meanwhile (an earlier call of the program failed), it still waits for
    the thread, whose work cannot be taken back: nothing of a call that has raised
    keeps running, as in plain Python, where the work would have finished.

    Example:
        >>> asyncio.run(in_worker_thread(sum, [1, 2, 3]))
        6
    """
    loop = asyncio.get_running_loop()
    run = functools.partial(contextvars.copy_context().run, function, *args)
    request = loop.run_in_executor(None, _outcome, run)
    try:
        succeeded, value = await asyncio.shield(request)
    except asyncio.CancelledError:
        await asyncio.wait([request])  # its outcome is dropped
        raise
    if succeeded:
        return value  # type: ignore[return-value]
    try:
        raise value  # type: ignore[misc]
    finally:
        del value  # no cycle through this frame
