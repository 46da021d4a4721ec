"""The outer call's deadline bounds a nested call of its own.

A jitted function given its own ``Config``, called inside another jitted call, runs as a
call of its own (``JitFunction.__call__``): its settings apply. The outer call's
``Config(timeout=...)`` must still bound it, or a request deadline would stop applying
while any helper jitted with, say, ``max_workers=4`` runs. ``call_within`` makes the
outer deadline the current one in this thread while the nested call runs, and
``timeout_within`` gives the nested call's run the shorter of its own timeout and the
time left.

Example:
    >>> timeout_within(5.0)  # outside any nested call: the call's own timeout
    5.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["call_within", "timeout_within"]

T = TypeVar("T")


class _Deadline(threading.local):
    at: float | None = None  # time.monotonic() deadline of the enclosing calls


_current = _Deadline()


def timeout_within(timeout: float | None) -> float | None:
    """``timeout``, shortened to the time left before the enclosing call's deadline."""
    deadline = _current.at
    if deadline is None:
        return timeout
    remaining = max(deadline - time.monotonic(), 1e-3)
    return remaining if timeout is None else min(timeout, remaining)


def call_within(outer_run: Any, call: Callable[[], T]) -> T:
    """``call()`` with ``outer_run``'s deadline (the earliest of the enclosing ones)
    current in this thread."""
    saved = _current.at
    deadline = getattr(outer_run, "deadline", None)
    if deadline is None or (saved is not None and saved < deadline):
        deadline = saved
    _current.at = deadline
    try:
        return call()
    finally:
        _current.at = saved
