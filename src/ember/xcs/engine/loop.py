"""The engine's event loop: coroutine ops and async model calls, without a thread each.

One background thread runs an asyncio loop for the whole process. Tasks to start are
put on a queue and the loop is woken once per batch, so a fan-out of thousands of
coroutine ops costs one cross-thread wake-up, not thousands. ``run_coroutine`` runs a
coroutine to completion from synchronous code that is not itself on this loop.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["EventLoop", "shared_loop"]

_EAGER = sys.version_info >= (3, 12)


class EventLoop:
    """A background asyncio loop that starts coroutines handed to it from any thread.

    ``_pending`` and ``_scheduled`` are guarded by ``_lock``.
    """

    def __init__(self, name: str = "ember-xcs-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: deque[tuple[Callable[[Any], Coroutine[Any, Any, Any]], Any,
                                   contextvars.Context | None]] = deque()
        self._scheduled = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started on first use)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            with self._lock:
                if self._loop is None or self._loop.is_closed():
                    import asyncio  # here: importing asyncio costs ~25 ms

                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(target=_serve, args=(loop,),
                                              name=self._name, daemon=True)
                    try:
                        thread.start()
                    except RuntimeError:  # no thread can start (see available)
                        loop.close()
                        raise
                    self._thread, self._loop = thread, loop
                loop = self._loop
        return loop

    def available(self) -> bool:
        """Whether the loop runs, started now if need be: ``False`` when its thread cannot
        start (in an ``atexit`` handler, 3.12 refuses new threads; or none are left).
        Coroutines then run on the calling thread instead (``run_coroutine``)."""
        try:
            return not self.loop.is_closed()
        except RuntimeError:
            return False

    def on_loop_thread(self) -> bool:
        """Whether the calling thread is this loop's thread."""
        thread = self._thread
        return thread is not None and thread.ident == threading.get_ident()

    def start(self, make: Callable[[Any], Coroutine[Any, Any, Any]], item: Any,
              context: contextvars.Context | None) -> None:
        """Run ``make(item)`` as a task on the loop, in ``context``."""
        loop = self.loop
        if self.on_loop_thread():
            loop.create_task(make(item), context=context)
            return
        with self._lock:
            self._pending.append((make, item, context))
            if self._scheduled:
                return
            self._scheduled = True
        loop.call_soon_threadsafe(self._drain)

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` on the loop thread."""
        self.loop.call_soon_threadsafe(callback)

    def cancel_once(self, handle: Any) -> None:
        """Cancel ``handle`` (an op body's asyncio task here, or an executor's future) from
        the loop thread, unless it is being cancelled already: a run that failed, then
        stopped, abandons a body twice, and a second cancellation would cut short the
        ``except`` and ``finally`` blocks the first one started."""
        self.loop.call_soon_threadsafe(_cancel_once, handle)

    def _drain(self) -> None:
        import asyncio

        loop = self._loop
        assert loop is not None
        while True:
            with self._lock:
                if not self._pending:
                    self._scheduled = False
                    return
                batch = list(self._pending)
                self._pending.clear()
            if _EAGER:
                # Eager start (3.12+): the first step runs now, not one loop turn later.
                task_type = asyncio.Task
                for make, item, context in batch:
                    task_type(make(item), loop=loop, context=context,  # type: ignore[call-arg]
                              eager_start=True)  # a 3.12 argument; mypy reads 3.11
            else:  # the Task itself: ``loop.create_task`` adds a frame and a name per task
                task_type = asyncio.Task
                for make, item, context in batch:
                    task_type(make(item), loop=loop, context=context)

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` to completion on this loop and return (or raise) its outcome.

        Raises:
            RuntimeError: called from the loop's own thread (it would wait forever).
        """
        if self.on_loop_thread():
            coro.close()
            raise RuntimeError("run_coroutine() cannot wait on its own event loop thread")
        import asyncio

        if not self.available():
            runner = asyncio.new_event_loop()  # the body runs here, to its end
            try:
                return runner.run_until_complete(coro)
            finally:
                runner.close()
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
            coro, self.loop)
        return future.result()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The loop thread: marked as such (a jitted call made here runs plainly:
    ``api.hosts``), then runs ``loop`` until it stops."""
    from ember.xcs.tracing.context import _local

    _local.on_engine_loop = True
    loop.run_forever()


_shared: EventLoop | None = None
_shared_lock = threading.Lock()


def shared_loop() -> EventLoop:
    """The process's engine loop."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = EventLoop()
    return _shared


def _forget_after_fork() -> None:
    """In a forked child: the parent's loop thread does not exist here; start a new one."""
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _cancel_once(handle: Any) -> None:
    if not getattr(handle, "cancelling", int)():  # an asyncio task's count (not a future's)
        handle.cancel()
