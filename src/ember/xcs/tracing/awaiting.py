"""Awaiting op results inside ``async def`` glue without blocking the event loop.

Rewritten ``async def`` glue (``tracing.rewrite``) awaits the places that need a value
before it reaches them: ``await x`` becomes ``await awaitable(x)`` (an op result is
handed back at once, the op already runs), a condition or a ``match`` subject is
awaited with ``ready`` / ``ready_deep`` until its ops are final, and ``Waiting`` does
that for any tasks (``runtime.aprep`` before a call, ``Trace`` for an eager ``async
def`` op). Op results handed to asyncio's functions (``gather``, ``wait_for``,
``as_completed``...) become the coroutines plain Python would have handed them
(``to_asyncio``).
"""

from __future__ import annotations

from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.failures import DeferredFailure, failure_of
from ember.xcs.tracing.lazy import Lazy

__all__ = ["Ready", "Waiting", "asyncio_taker", "awaitable", "final", "pending", "ready",
           "ready_deep", "to_asyncio"]


class Ready:
    """An awaitable that finishes at once with ``value`` (``await`` on a lazy value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return self.value
        yield  # pragma: no cover - makes this a generator function


def awaitable(value: Any) -> Any:
    """What ``await value`` should wait for: a lazy value is returned without waiting."""
    if type(value) is Lazy:
        return Ready(value)
    return value


# The asyncio functions that take awaitables, by name, and where they take them: every
# positional argument ("each"), the first one ("first") or each item of the first one
# ("items"), with the first one's keyword name. ``create_task`` covers
# ``asyncio.create_task``, ``loop.create_task`` and ``TaskGroup.create_task``.
_ASYNCIO_TAKERS: dict[str, tuple[str, str]] = {
    "gather": ("each", ""),
    "wait_for": ("first", "fut"),
    "shield": ("first", "arg"),
    "ensure_future": ("first", "coro_or_future"),
    "create_task": ("first", "coro"),
    "as_completed": ("items", "fs"),
    "wait": ("items", "fs"),
}


def asyncio_taker(fn: Any) -> tuple[str, str] | None:
    """Where ``fn`` takes awaitables, if it is an asyncio function that does (``gather``...)."""
    module = getattr(fn, "__module__", None) or ""
    if not module.startswith("asyncio"):
        return None
    return _ASYNCIO_TAKERS.get(getattr(fn, "__name__", ""))


def to_asyncio(where: tuple[str, str], args: tuple[Any, ...], kwargs: dict[str, Any]
                ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of an asyncio function with each op result it awaits as a coroutine."""
    how, keyword = where
    if how == "each":
        return tuple(_coroutine_of(a) if type(a) is Lazy else a for a in args), kwargs
    if args:
        first, rest, named = args[0], args[1:], False
    elif keyword in kwargs:
        first, rest, named = kwargs[keyword], (), True
    else:
        return args, kwargs  # asyncio reports the missing argument itself
    if how == "first":
        first = _coroutine_of(first) if type(first) is Lazy else first
    elif type(first) is not Lazy and not isinstance(first, (str, bytes)):
        # as_completed and wait take any iterable (a generator too) and read it at once.
        items = list(first) if not isinstance(first, (set, frozenset)) else first
        if any(type(item) is Lazy for item in items):
            wrapped = [_coroutine_of(i) if type(i) is Lazy else i for i in items]
            first = set(wrapped) if isinstance(first, (set, frozenset)) else wrapped
        else:
            first = items
    if named:
        return args, {**kwargs, keyword: first}
    return (first, *rest), kwargs


def _coroutine_of(lazy: Lazy) -> Any:
    """The coroutine plain Python would have handed asyncio for an op call.

    From here on the glue sees the op's outcome itself, through asyncio: its
    exception no longer fails the call (``gather(..., return_exceptions=True)`` lists
    it, ``wait_for`` raises it where it is awaited). Cancelling the coroutine (a
    ``wait_for`` timeout, ``asyncio.timeout``, ``task.cancel()``, a failing
    ``TaskGroup``) cancels a coroutine op that is running, as plain asyncio would;
    an op that has not started yet or runs on a thread finishes, unobserved.

    Raises:
        DeferredFailure: the op already failed the call before the glue got here.
    """
    task = object.__getattribute__(lazy, "_xcs_task")
    run = task.run
    if run is not None:
        with run.lock:
            if run.failure is not None:
                raise DeferredFailure()  # plain Python would have raised it before this
            if not task.final:
                task.eager = True  # the glue sees its exception (engine.state: not fatal)
    return _outcome(lazy, task, pending([lazy]))


async def final(task: Any, waits: list[Any] | None = None) -> None:
    """Finishes once ``task`` (and ``waits``) are final, without blocking the loop.

    Cancelling it (a ``wait_for`` timeout, ``task.cancel()``) cancels the op's running
    coroutine body too, as cancelling the op's coroutine would in plain Python.
    """
    import asyncio

    try:
        await Waiting([task] if waits is None else waits, None)
    except asyncio.CancelledError:
        _cancel_op(task)
        raise


async def _outcome(lazy: Lazy, task: Any, waits: list[Any]) -> Any:
    """Finishes when the op does: with its value, or raising its exception.

    The value itself, not ``lazy``: asyncio keeps results where the collector cannot
    see them, and a lazy value kept there would look escaped to escape repair.
    """
    await final(task, waits)
    if task.state is TaskState.DONE:
        return task.value
    if task.run is not None and task.run.failure is not None:
        raise DeferredFailure()  # an earlier op failed: the call raises that one
    raise failure_of(task)


def _cancel_op(task: Any) -> None:
    """Cancel ``task``'s running coroutine body (on whatever loop it runs)."""
    handle = task.handle
    if task.state is not TaskState.RUNNING or not hasattr(handle, "get_loop"):
        return  # not started, already final, or a blocking body (which cannot stop)
    try:
        handle.get_loop().call_soon_threadsafe(handle.cancel)
    except RuntimeError:
        pass  # the loop is closed: nothing left to cancel


class Waiting:
    """Awaits, on the running loop, until ``tasks`` are final; then gives ``value``."""

    __slots__ = ("tasks", "value")

    def __init__(self, tasks: list[Any], value: Any) -> None:
        self.tasks = tasks
        self.value = value

    def __await__(self) -> Any:
        import asyncio

        for task in self.tasks:
            if task.final:
                continue
            loop = asyncio.get_running_loop()
            done = loop.create_future()

            def finished(done: Any = done, loop: Any = loop) -> None:
                loop.call_soon_threadsafe(_set_result, done)

            task.run.on_final(task, finished)
            yield from done.__await__()
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
                                        object.__getattribute__(lazy, "_xcs_roots"))
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
