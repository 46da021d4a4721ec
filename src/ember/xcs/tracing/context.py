"""Which trace (if any) is recording op calls in the current thread.

The current trace lives in a thread-local, not a ``ContextVar``: op bodies run in a
copy of the caller's ``contextvars`` context, and they must *not* inherit the trace
(an op body calls other ops plainly, or starts its own trace if it is jitted).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["OpCallHandler", "activate", "current_trace", "suspended", "swap"]


class OpCallHandler(Protocol):
    """Anything that can stand in for running an op: a jit trace, an autograph recorder."""

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Handle a call of ``op`` with ``args``/``kwargs`` made by traced code."""
        ...


# ``trace``: the current handler. ``plain``: a jitted function called now must run
# plainly (a handler is active, or ``disabled`` > 0: see ember.xcs.api.jit).
_local = threading.local()


def current_trace() -> OpCallHandler | None:
    """The handler recording op calls in this thread, or ``None`` outside any trace."""
    return getattr(_local, "trace", None)


def swap(handler: OpCallHandler | None) -> OpCallHandler | None:
    """Make ``handler`` current in this thread; returns the previous one (fast path)."""
    local = _local
    previous = getattr(local, "trace", None)
    local.trace = handler
    local.plain = handler is not None or getattr(local, "disabled", 0) > 0
    return previous


@contextmanager
def activate(handler: OpCallHandler | None) -> Iterator[None]:
    """Make ``handler`` the current trace of this thread for the duration of the block."""
    previous = swap(handler)
    try:
        yield
    finally:
        swap(previous)


def suspended() -> Any:
    """A block in which no trace is active (op bodies run inside one)."""
    return activate(None)
