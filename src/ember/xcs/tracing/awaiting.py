"""Awaiting op results inside ``async def`` glue without blocking the event loop.

Rewritten ``async def`` glue (``tracing.rewrite``) awaits the places that need a value
before it reaches them: a condition or a ``match`` subject is awaited with ``ready`` /
``ready_deep`` until its ops are final, and ``Waiting`` does that for any tasks
(``runtime.aprep`` before a call, ``Trace`` for an eager ``async def`` op). What
``await`` itself does with op results is in ``tracing.coroutines``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.context import current_trace
from ember.xcs.tracing.failures import DeferredFailure, failure_of, timeout_error
from ember.xcs.tracing.lazy import Lazy, roots_of

__all__ = ["AfterWaiting", "Ready", "Suspending", "Waiting", "awaited_ops", "bodies_ended",
           "cancel_op", "cancelled", "final", "outcome", "pending", "ready", "ready_deep",
           "settled"]


class Ready:
    """An awaitable that finishes at once with ``value`` (``await`` on a lazy value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return self.value
        yield  # pragma: no cover - makes this a generator function


class Suspending:
    """An awaitable that lets the event loop run other tasks once, then finishes with
    ``value`` (``await`` of an op's coroutine in the glue: see ``tracing.coroutines``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        yield  # a bare yield: asyncio runs the other ready tasks, then resumes this one
        return self.value


async def final(task: Any, waits: list[Any] | None = None) -> None:
    """Finishes once ``task`` (and ``waits``) are final, without blocking the loop.

    Cancelling it (a ``wait_for`` timeout, ``task.cancel()``) cancels the op's running
    coroutine body too, as cancelling the op's coroutine would in plain Python; and,
    as there, the body handles its cancellation (its ``except``/``finally`` blocks)
    before the cancellation goes on into the glue's own. A body that handles it and
    returns a value, or raises another exception, ends this wait normally: the glue's
    ``await`` gets that outcome instead, as in plain Python. Past the call's deadline
    (``Config(timeout=...)``) the run stops and the wait raises ``XCSTimeoutError``.
    """
    import asyncio

    waiting = Waiting([task] if waits is None else waits, None)
    deadline = getattr(task.run, "deadline", None)  # Config(timeout): it ends the call
    try:
        if deadline is None or task.final:
            await waiting
        else:
            await asyncio.wait_for(waiting, max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        from ember.xcs.engine.driver import default_engine

        default_engine().stop(task.run, "timeout")  # its tasks are final from here on
        raise timeout_error(task.run) from None  # at the glue's await, as at a sync wait
    except asyncio.CancelledError as cancel:
        await cancelled(task)
        if task.state is not TaskState.DONE and (
                task.state is not TaskState.FAILED or isinstance(task.error, type(cancel))):
            raise


async def cancelled(task: Any) -> None:
    """Cancel the op's coroutine body, as a cancellation reaching its ``await`` would,
    and finish once the body has ended (its ``except`` and ``finally`` blocks, which
    may await, have run). A further cancellation meanwhile cancels the body again, as
    in plain Python. An op that has not started, or that cannot be cancelled (a
    blocking body), is left as it is."""
    import asyncio

    op = task.op
    while True:
        try:
            while task.handle is None and task.state is TaskState.RUNNING and op is not None \
                    and (op.is_coroutine or op.async_fn is not None):
                await asyncio.sleep(0.001)  # queued on the engine's loop: cancelled once it starts
            if cancel_op(task):
                await Waiting([task], None)
            return
        except asyncio.CancelledError:
            continue


def awaited_ops(trace: Any) -> list[Any]:
    """The coroutine ops the glue of ``trace`` awaited that have not ended, in the order it
    awaited them: an ``await`` of one went on at once (``tracing.coroutines``), where plain
    Python would still be waiting at the first of them."""
    return [task for task in trace.awaited if not task.final]


async def bodies_ended(run: Any) -> None:
    """Finishes once the coroutine bodies of ``run``'s ops (asyncio tasks on the engine's
    loop) have ended, cleanup included, without blocking the running loop. After a run
    has stopped its tasks are final at once, while their cancelled bodies still run
    their ``except`` and ``finally`` blocks; plain Python would have waited for those.
    A further cancellation meanwhile cancels them again."""
    import asyncio

    loop = asyncio.get_running_loop()
    handles = [t.handle for t in run.tasks if hasattr(t.handle, "get_loop")]
    for handle in handles:
        while not handle.done():
            done = loop.create_future()

            def ended(_: Any, done: Any = done) -> None:
                try:
                    loop.call_soon_threadsafe(_set_result, done)
                except RuntimeError:
                    pass  # the caller's loop has closed

            try:
                handle.get_loop().call_soon_threadsafe(handle.add_done_callback, ended)
                await done
            except RuntimeError:
                break  # the engine's loop has closed: nothing runs there any more
            except asyncio.CancelledError:
                handle.get_loop().call_soon_threadsafe(handle.cancel)


def settled() -> Any:
    """What ``async def`` glue awaits before a ``try`` block that may catch a cancellation
    (and an ``async with`` block): the ops it awaited before have ended, so that a
    cancellation meanwhile lands outside the block, in the op, as in plain Python."""
    trace = current_trace()
    waits = awaited_ops(trace) if hasattr(trace, "awaited") else []  # a Trace (not autograph)
    return Waiting(waits, None) if waits else Ready(None)


async def outcome(task: Any, waits: list[Any]) -> Any:
    """Finishes when the op of ``task`` does: with its value, or raising its exception.

    It holds no lazy value: asyncio keeps coroutines and results where the collector
    cannot see them, and a lazy value kept there would look escaped to escape repair.
    """
    await final(task, waits)
    if task.state is TaskState.DONE:
        return task.value
    if task.run is not None and task.run.failure is not None:
        raise DeferredFailure()  # an earlier op failed: the call raises that one
    raise failure_of(task)


def cancel_op(task: Any) -> bool:
    """Cancel ``task``'s running coroutine body (on whatever loop it runs); whether
    there was one to cancel."""
    handle = task.handle
    if task.state is not TaskState.RUNNING or not hasattr(handle, "get_loop"):
        return False  # not started, already final, or a blocking body (which cannot stop)
    try:
        handle.get_loop().call_soon_threadsafe(handle.cancel)
    except RuntimeError:
        return False  # the loop is closed: nothing left to cancel
    return True


class Waiting:
    """Awaits, on the running loop, until ``tasks`` are final; then gives ``value``.

    Past the call's deadline (``Config(timeout=...)``) the run stops and the wait raises
    ``XCSTimeoutError``, as the glue's waits do in a synchronous call.
    """

    __slots__ = ("tasks", "value")

    def __init__(self, tasks: list[Any], value: Any) -> None:
        self.tasks = tasks
        self.value = value

    def __await__(self) -> Any:
        import asyncio

        try:
            for task in self.tasks:
                if task.final:
                    continue
                loop = asyncio.get_running_loop()
                done = loop.create_future()

                def finished(done: Any = done, loop: Any = loop) -> None:
                    try:
                        loop.call_soon_threadsafe(_set_result, done)
                    except RuntimeError:
                        pass  # its loop has closed (asyncio.run ended): nobody waits there

                task.run.on_final(task, finished)
                deadline = getattr(task.run, "deadline", None)
                if deadline is None:
                    yield from done.__await__()
                    continue
                timer = loop.call_later(max(0.0, deadline - time.monotonic()),
                                        _set_result, done)
                try:
                    yield from done.__await__()
                finally:
                    timer.cancel()
                if not task.final:  # out of time
                    from ember.xcs.engine.driver import default_engine

                    default_engine().stop(task.run, "timeout")
                    raise timeout_error(task.run)
        except BaseException:
            # Cancelled: the traceback keeps this object; it must not keep the call's
            # values too (escape repair would search the heap for it, at every call).
            self.tasks, self.value = [], None
            raise
        return self.value


def _set_result(future: Any) -> None:
    if not future.done():
        future.set_result(None)


def pending(lazies: list[Lazy]) -> list[Any]:
    """The tasks to wait for before these lazy values can be used without blocking."""
    tasks: list[Any] = []
    for lazy in lazies:
        if type(lazy) is not Lazy:
            continue  # another call's, repaired when that call ended: a value now
        owner = object.__getattribute__(lazy, "_xcs_trace")
        tasks += owner.ordering.pending(object.__getattribute__(lazy, "_xcs_task"),
                                        roots_of(lazy))
    return tasks


def ready(value: Any) -> Any:
    """An awaitable of ``value`` that finishes once a lazy ``value`` can be used."""
    if type(value) is Lazy:
        waits = pending([value])
        if waits:
            return Waiting(waits, value)
    return Ready(value)


def ready_deep(value: Any) -> Any:
    """Like ``ready``, for every lazy value inside ``value`` (a ``match`` subject)."""
    found = [value] if type(value) is Lazy else tree.leaves(value, Lazy, records=True)
    waits = pending(found) if found else []
    return Waiting(waits, value) if waits else Ready(value)


class AfterWaiting:
    """Waits for tasks on the running loop, then gives ``then(*args, **kwargs)``: what
    would have blocked the loop (``prep`` of a call, ``settle`` before a change) finds
    them finished."""

    __slots__ = ("args", "kwargs", "then", "waiting")

    def __init__(self, waiting: Waiting, then: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:  # not *args: a call's own keywords
        self.waiting = waiting
        self.then = then
        self.args = args
        self.kwargs = kwargs

    def __await__(self) -> Any:
        yield from self.waiting.__await__()
        return self.then(*self.args, **self.kwargs)
