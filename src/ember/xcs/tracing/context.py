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

__all__ = ["OpCallHandler", "activate", "current_trace", "glue", "suspended", "swap"]


class OpCallHandler(Protocol):
    """Anything that can stand in for running an op: a jit trace, an autograph recorder."""

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Handle a call of ``op`` with ``args``/``kwargs`` made by traced code."""
        ...


class _Local(threading.local):
    """Per-thread state. ``trace``: the current handler. ``plain``: a jitted function
    called now must run plainly (a handler is active, or ``disabled`` > 0: see
    ember.xcs.api.jit). Class defaults make every read a plain attribute access."""

    trace: OpCallHandler | None = None
    plain = False
    disabled = 0


_local = _Local()


def current_trace() -> OpCallHandler | None:
    """The handler recording op calls in this thread, or ``None`` outside any trace."""
    return _local.trace


def glue(fn: Any) -> Any:
    """``fn`` in the form the current jit trace runs user code in (itself outside one).

    Library code that calls user code on the trace's behalf, such as a non-leaf
    ``Operator`` running its ``forward``, calls ``glue(fn)(...)`` so that the user's
    code is rewritten like the jitted function itself (see ``tracing.rewrite``).
    """
    trace = _local.trace
    instrumented = getattr(trace, "instrumented", None) if trace is not None else None
    return fn if instrumented is None else instrumented(fn)


def swap(handler: OpCallHandler | None) -> OpCallHandler | None:
    """Make ``handler`` current in this thread; returns the previous one (fast path)."""
    local = _local
    previous = local.trace
    local.trace = handler
    local.plain = handler is not None or local.disabled > 0
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
