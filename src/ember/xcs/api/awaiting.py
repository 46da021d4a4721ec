"""Run the call of an ``async def`` function to its end from synchronous code.

``explain(f, *args)`` and ``compare(f, ...)`` are synchronous, but ``f`` may be an
``async def``: calling it only makes a coroutine, and nothing runs until it is awaited.
``finish`` awaits it: with ``asyncio.run`` when the calling thread runs no event loop,
else (a notebook cell, an ``async def`` that calls ``explain``) on a new loop in a
helper thread, since a running loop cannot be re-entered. The caller's context
variables go with it, and its outcome (value or exception) comes back unchanged.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from typing import Any

__all__ = ["finish"]


def finish(value: Any) -> Any:
    """``value``, or the result of awaiting it when it is awaitable.

    Example:
        >>> async def double(x):
        ...     return 2 * x
        >>> finish(double(21)), finish("plain")
        (42, 'plain')
    """
    if not inspect.isawaitable(value):
        return value
    import asyncio  # here: importing asyncio costs tens of milliseconds

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(value))
    outcome: list[Any] = []
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append((True, context.run(asyncio.run, _awaited(value))))
        except BaseException as error:  # handed to the caller, which raises it
            outcome.append((False, error))

    helper = threading.Thread(target=run, name="ember-xcs-finish", daemon=True)
    helper.start()
    helper.join()
    succeeded, result = outcome[0]
    if succeeded:
        return result
    raise result


async def _awaited(value: Any) -> Any:
    return await value
