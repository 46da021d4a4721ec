"""Where a jitted call cannot hand its ops to other threads: it runs as plain Python.

While a thread executes a module's body (``import m``, where ``m`` calls a jitted
function at module level, or an ``__init__.py`` warms a cache up), it holds that
module's import lock. An op running on an engine thread that imports the module (the
lazy ``from m import helper`` that breaks an import cycle) would wait for that lock,
while the importing thread waits for the op: neither could go on. In plain Python the
op runs in the importing thread, which may re-enter its own import and gets the
partly initialised module. So a jitted call made while its thread imports a module
runs as plain Python, in that thread, and says so in ``get_jit_stats``/``explain``.

The same holds for a synchronous jitted call made on XCS's own event loop thread (from
the body of an ``async def`` op, or a hook hearing of one): its glue would block that
thread while it waits for its ops, and its coroutine ops (``async def`` ops, model
calls) can only run on that very loop. It runs as plain Python there, as the body
around it does (``LOOP_THREAD``: the thread-local flag ``on_engine_loop`` tells it).
A jitted ``async def`` awaited with no asyncio loop running (a coroutine driven by hand,
or by another framework) cannot wait for its ops either, since its waits are asyncio's:
it runs as plain Python too (``NO_ASYNCIO_LOOP``, decided in ``api.stepping``).

Which module a thread is importing is read from ``importlib._bootstrap``'s table of
module locks (each records the thread that owns it). The table is empty unless some
thread is importing, so callers test ``module_locks`` first: one truth test per call at run time.

A call run as plain Python (here, or a generator function's: docs/semantics.md) is
still a call: ``run_plainly`` counts it in ``calls``, ``total_time_ms`` and ``errors``
and records its fallback with the line that made the call (the module body's line, the
op's), so ``get_jit_stats`` and ``explain`` tell what happened and where.

Example:
    >>> importing_module() is None  # a doctest runs after its module was imported
    True
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from importlib import _bootstrap
from types import FrameType
from typing import Any

from ember.xcs.api.records import Fallback, FunctionStats
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.frames import is_internal, location_of

__all__ = ["GENERATOR", "LOOP_THREAD", "NO_ASYNCIO_LOOP", "call_refused", "import_fallback",
           "importing_module", "module_locks", "run_plainly"]

# name -> weakref to its _ModuleLock (CPython's; the same in 3.11-3.13)
module_locks: dict[str, object] = _bootstrap._module_locks  # type: ignore[attr-defined]


def importing_module() -> str | None:
    """The name of a module whose import this thread is running, or ``None``."""
    if not module_locks:  # the common case: nothing is being imported
        return None
    me = threading.get_ident()
    for name, ref in list(module_locks.items()):
        lock = ref() if callable(ref) else None
        if lock is not None and getattr(lock, "owner", None) == me:
            return name
    return None


def import_fallback() -> Fallback | None:
    """Why a call must run as plain Python now (this thread imports a module), or ``None``."""
    module = importing_module()
    if module is None:
        return None
    return Fallback(
        f"called while this thread imports module {module!r}: runs as plain Python in this "
        "thread (an op on another thread that imports the module would wait for its "
        "import lock forever); call it after the import to run its ops concurrently",
        None, eager=True)


LOOP_THREAD = Fallback(
    "called on XCS's event loop thread (inside an async def op): runs as plain Python "
    "there (its glue would block the loop its own coroutine ops need); call it with "
    "`await asyncio.to_thread(f, ...)` in the op to run its ops concurrently", None,
    eager=True)


NO_ASYNCIO_LOOP = Fallback(
    "awaited with no asyncio event loop running (a coroutine driven by hand or by another "
    "framework): runs as plain Python (a jitted call waits for its ops on an asyncio "
    "loop); run it under asyncio (`asyncio.run`, anyio's asyncio backend) to run its ops "
    "concurrently", None, eager=True)

GENERATOR = Fallback("a generator function: its body runs as plain Python while the "
                     "generator is consumed; jit a function that consumes it to run its ops "
                     "concurrently", None, eager=True)


def run_plainly(stats: FunctionStats, why: Fallback, fn: Callable[..., Any],
                args: tuple[Any, ...], kwargs: dict[str, Any], is_async: bool) -> Any:
    """``fn(*args, **kwargs)`` as plain Python, counted in ``stats`` with ``why``.

    The wall time counted is the call's (for an ``async def``, until its coroutine
    ends; for a generator function, making the generator).
    """
    if why.location is None:
        why = replace(why, location=_call_site())
    stats.note_fallback(why, plain=True)
    started = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except BaseException:
        stats.record_plain(time.perf_counter() - started, True)
        raise
    if is_async:
        return _timed(stats, result, started)
    stats.record_plain(time.perf_counter() - started, False)
    return result


def call_refused(stats: FunctionStats, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
    """Call the ``async def`` ``fn`` with arguments it does not take: it raises their
    ``TypeError`` at the call, as in plain Python (a coroutine it still made is dropped).
    A call all the same: counted in ``calls`` and ``errors``, as a synchronous one is."""
    started = time.perf_counter()
    try:
        made = fn(*args, **kwargs)
    except BaseException:
        stats.record_plain(time.perf_counter() - started, True)
        raise
    if inspect.iscoroutine(made):
        made.close()


def _call_site() -> SourceLocation | None:
    """The line that called the jitted function: the first frame outside Ember."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and is_internal(frame.f_code):
        frame = frame.f_back
    return location_of(frame) if frame is not None else None


async def _timed(stats: FunctionStats, coroutine: Coroutine[Any, Any, Any],
                 started: float) -> Any:
    failed = True
    try:
        result = await coroutine
        failed = False
        return result
    finally:
        stats.record_plain(time.perf_counter() - started, failed)
