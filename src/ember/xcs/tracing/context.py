"""Which trace (if any) is recording op calls in the current thread.

The current trace lives in a thread-local, not a ``ContextVar``: op bodies run in a
copy of the caller's ``contextvars`` context, and they must *not* inherit the trace
(an op body calls other ops plainly, or starts its own trace if it is jitted).

While the garbage collector runs, no trace is current in its thread and jitted
functions run plainly (``_collecting``): the finalizers it runs (``__del__``,
``weakref.finalize``) run where it fires, which may be inside XCS itself holding a
lock of the call, and an op or jitted call made there must not join that call.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["OpCallHandler", "activate", "asettle_earlier", "call", "calls_underway",
           "current_trace", "glue",
           "settle_earlier", "suspended", "swap", "use_earlier", "use_prepare"]


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
    on_engine_loop = False  # this thread runs XCS's event loop (engine.loop)


_local = _Local()


class _Collecting(threading.local):
    """What the garbage collector's run in this thread set aside (``_collecting``)."""

    saved: tuple[OpCallHandler | None, bool] | None = None


_collection = _Collecting()


def _collecting(phase: str, info: dict[str, int]) -> None:
    """A ``gc.callbacks`` hook: the finalizers a collection runs run as plain Python.

    Plain Python runs them at that moment, with their ops' values; they must not record
    into the trace of the glue they interrupted (its engine may hold a lock of the call
    on this thread, which the op would take again and wait for forever).
    """
    local = _local
    if phase == "start":
        _collection.saved = (local.trace, local.plain)
        local.trace, local.plain = None, True  # plain: a jitted function runs its fn
    elif _collection.saved is not None:
        (local.trace, local.plain), _collection.saved = _collection.saved, None


gc.callbacks.append(_collecting)


class _CallsUnderway:
    """The traced calls underway in the process: the ids of their runs, added when a
    call issues its first op and discarded when it has ended (``Call.close``; a set's
    ``add`` and ``discard`` need no lock under the GIL). While one is, a lazy
    value may reach code that runs where no trace is (a coroutine the glue hands to
    another thread's loop); after the last, escape repair has given every holder its
    value."""

    __slots__ = ("ids",)

    def __init__(self) -> None:
        self.ids: set[int] = set()


calls_underway = _CallsUnderway()


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


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, called the way the current jit trace's rewritten code calls.

    Library code that calls a callable the user handed it (an ensemble's members and
    aggregator, a chain's steps, a router's function) calls it through here. Under
    ``@jit`` that call then means what it means written in the jitted function itself:
    ops return lazy values, the user's functions run rewritten, known pure functions
    (``" | ".join``) become lifted nodes and anything else gets real values first.
    Outside a trace it is a plain call.
    """
    prepare = _prepare
    if _local.trace is None or prepare is None:
        return fn(*args, **kwargs)
    return prepare(fn, *args, **kwargs)()


_prepare: Callable[..., Callable[[], Any]] | None = None


def use_prepare(prepare: Callable[..., Callable[[], Any]]) -> None:
    """Set what ``call`` uses under a trace: ``tracing.runtime.prep``, when it loads."""
    global _prepare
    _prepare = prepare


def settle_earlier(keep: Callable[[Any], bool], reason: str) -> None:
    """Under a jit trace, wait for the ops issued so far whose ``Op`` ``keep`` selects.

    Library code calls it where plain Python's program order matters beyond values: a
    stream of a provider with ``max_concurrency`` is about to take one of its slots
    and to keep it while the glue reads it (see ``tracing.earlier``). A failed op
    among them unwinds the glue, as a barrier on it would. Outside a trace (and in an
    autograph recording) it does nothing.
    """
    trace = _local.trace
    if trace is not None and _earlier is not None:
        _earlier[0](trace, keep, reason)


async def asettle_earlier(keep: Callable[[Any], bool], reason: str) -> None:
    """``settle_earlier`` in ``async def`` code: the event loop runs on meanwhile."""
    trace = _local.trace
    if trace is not None and _earlier is not None:
        await _earlier[1](trace, keep, reason)


_earlier: tuple[Callable[..., None], Callable[..., Awaitable[None]]] | None = None


def use_earlier(settle: Callable[..., None], asettle: Callable[..., Awaitable[None]]) -> None:
    """Set what ``settle_earlier`` and ``asettle_earlier`` use under a trace:
    ``tracing.earlier``'s, when ``tracing.runtime`` loads."""
    global _earlier
    _earlier = (settle, asettle)


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
