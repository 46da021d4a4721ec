"""Jitted ``async def`` calls whose event loop is closed under them stop there.

``loop.close()`` with a task still pending (``run_until_complete`` returned and no
``asyncio.run`` cancelled what was left, or a server's loop closed on shutdown) freezes
that task in plain Python: its coroutine never runs again, so no op of the call runs
after the close. A jitted call's glue runs on that loop too and freezes with it, but
its ops run on XCS's own loop and threads, and the glue has issued them ahead, a whole
chain of model requests perhaps: they would all run, and be paid for. So while a call
is in flight its loop is watched (``watch``): XCS's loop looks every ``SLICE`` seconds
whether the loop of a call still in flight has closed, and stops that call's run, as a
cancellation of the call would: ops not started never start, and running coroutine ops
are cancelled (a blocking body runs to its end, as after any stop). The look runs only
while calls are watched. Both are held weakly: a loop dropped unclosed (collected, with
its pending tasks) counts as closed, and a call collected unfinished is forgotten.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

from ember.xcs.engine.driver import default_engine
from ember.xcs.engine.interruptible import SLICE

__all__ = ["unwatch", "watch"]

_lock = threading.Lock()  # guards _calls and _looking
_calls: dict[int, tuple[Any, Any]] = {}  # id(trace) -> weak refs to (the caller's loop, trace)
_looking = False  # whether a look is scheduled on XCS's loop


def watch(loop: Any, trace: Any) -> None:
    """Stop ``trace``'s run should ``loop`` (running the call) close before it ends."""
    global _looking
    if loop is None:
        return  # driven by something other than an asyncio loop: nothing to watch
    with _lock:
        _calls[id(trace)] = (_ref(loop), weakref.ref(trace))
        if _looking:
            return
        _looking = True
    try:
        default_engine().loop.call_soon(_look)
    except RuntimeError:  # XCS's loop cannot start (at interpreter exit): no ops run there
        with _lock:
            _looking = False


def _ref(loop: Any) -> Any:
    """A weak reference to ``loop``; a strong one for a loop class without weak
    references (a compiled loop may lack them), dropped when the call ends."""
    try:
        return weakref.ref(loop)
    except TypeError:
        return lambda: loop


def unwatch(trace: Any) -> None:
    """The call of ``trace`` has ended (the watch holds it no longer)."""
    with _lock:
        _calls.pop(id(trace), None)


def _look() -> None:
    """On XCS's loop: stop the runs of calls whose loop has closed; look again later
    while calls are in flight."""
    global _looking
    import asyncio  # loaded: this runs on an event loop

    orphans = []
    with _lock:
        for key, (loop_ref, trace_ref) in list(_calls.items()):
            loop, trace = loop_ref(), trace_ref()
            if trace is None or loop is None or loop.is_closed():
                del _calls[key]
                if trace is not None:
                    orphans.append(trace)
        if not _calls:
            _looking = False
        else:
            asyncio.get_running_loop().call_later(SLICE, _look)
    for trace in orphans:
        run = trace.run
        if run is not None:
            default_engine().stop(run, "its event loop was closed")


def _forget_after_fork() -> None:
    """In a forked child: the parent's calls and its look on XCS's loop are not here."""
    global _calls, _lock, _looking
    _lock = threading.Lock()
    _calls = {}
    _looking = False


os.register_at_fork(after_in_child=_forget_after_fork)
