"""What calling an ``async def`` op gives inside ``async def`` glue: a coroutine.

In plain Python, calling an ``async def`` function gives a coroutine object; the body's
outcome, an exception included, reaches the code at the ``await``. Rewritten
``async def`` glue keeps that: calling an ``async def`` op starts the op at once (that
is the parallelism) and gives a real coroutine (``op_coroutine``) around an
``OpCoroutine``, which behaves as the op's coroutine would:

- ``await c`` gives the op's result as a lazy value, without waiting for the op; it
  lets the event loop's other tasks run once first, as the pause at that ``await``
  would in plain Python (concurrent handlers interleave as they would). Inside a
  ``try``/``with`` block it waits, so that the op's exception is raised right there.
- The op's exception fails the call only once ``c`` is awaited (plain Python would
  never have run an op whose coroutine is never awaited, so nothing fails then).
- A second ``await c`` raises ``RuntimeError('cannot reuse already awaited
  coroutine')``; ``c + "!"``, ``c.lower()`` or ``json.dumps(c)`` fail as they do on a
  coroutine (the class is named ``coroutine``); ``c.close()`` discards it.
- Anything else that takes coroutines (``asyncio.gather``, ``create_task``, a library,
  a caller awaiting it after the call returned) drives it like one: it finishes with
  the op's value or raises its exception.

``await x`` in the glue becomes ``await awaitable(x)``. An op result that is not a
coroutine (a synchronous op's, a lifted operation's) is awaited as plain Python would
await the value itself, once it exists: ``await`` on a ``str`` raises ``TypeError``.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import sys
import types
from typing import Any

from ember.xcs.engine.task import TaskState
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.awaiting import Suspending, cancel_op, outcome, pending, ready
from ember.xcs.tracing.failures import DeferredFailure, failure_of
from ember.xcs.tracing.frames import CallMode
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.outside import outside_tree

__all__ = ["OpCoroutine", "awaitable", "eager_coroutine", "named", "op_coroutine"]

_get = object.__getattribute__
_REUSED = "cannot reuse already awaited coroutine"


class OpCoroutine:
    """The coroutine of one ``async def`` op call made by ``async def`` glue.

    The op runs as the task behind ``lazy``, issued at the call; or, when it shares
    objects of the user's with the glue, once this is awaited or driven (``call``: the
    trace's ``issue`` and its arguments), as the body of a plain coroutine starts then
    and sees what the glue changed meanwhile. Its failure is not the call's failure
    (``task.eager``) until the glue has awaited it.
    """

    __slots__ = ("_call", "_driver", "_state", "_task", "failed_in", "lazy", "name")

    def __init__(self, name: str, lazy: Lazy | None = None,
                 call: functools.partial[Lazy] | None = None) -> None:
        self.lazy: Any = lazy  # None once awaited or discarded (or not issued yet)
        self.name = name
        self._call = call  # None once issued or discarded
        self._state = "created"  # then "awaited" or "closed"
        self._driver: Any = None  # the real coroutine, once something drives this one
        self._task: Any = None  # the op's task, once driven
        self.failed_in: Any = None  # the asyncio task the op's failure reached, if any

    def _issued(self) -> Any:
        """Issue the op if it was not (then its lazy value, or, once its call has ended,
        the op's own coroutine); else ``self.lazy``."""
        call, self._call = self._call, None
        if call is None:
            return self.lazy
        trace, (op, args, kwargs) = call.func.__self__, call.args[:3]  # type: ignore[attr-defined]
        if trace.finished:  # awaited after the call returned it: a plain op call
            return op.fn(*outside_tree(args), **outside_tree(kwargs))
        self.lazy = call()
        return self.lazy

    def __repr__(self) -> str:
        return f"<coroutine object {self.name} at {id(self):#x}>"

    def _claim(self) -> None:
        if self._state != "created":
            raise RuntimeError(_REUSED)
        self._state = "awaited"

    # -- the coroutine protocol (for everything but rewritten glue) --------------------

    def _drive(self) -> Any:
        if self._driver is None:
            self._claim()
            lazy, self.lazy = self._issued(), None  # asyncio may keep this object long after
            if type(lazy) is Lazy:
                self._task = _get(lazy, "_xcs_task")
                self._driver = outcome(self._task, pending([lazy]))
            elif type(lazy) is types.CoroutineType:
                self._driver = lazy  # issued after its call ended: the op's own coroutine
            elif type(lazy) is _Ended:
                self._driver = Op.finished(lazy.value, lazy.error)
            else:  # the call has ended and put the value here
                self._driver = Op.finished(lazy)
        return self._driver

    def __await__(self) -> Any:
        return self._drive().__await__()

    def send(self, value: Any) -> Any:
        """Drive the coroutine (what an ``asyncio.Task`` does)."""
        return self._drive().send(value)

    def throw(self, *exception: Any) -> Any:
        """Raise inside the coroutine; before it started, that discards it."""
        if self._driver is None:
            self.close()  # never started: it ends at once, raising, as in plain Python
            return _raise(*exception)
        return self._driver.throw(*exception)

    def close(self) -> None:
        """Discard the coroutine: the op's outcome is never looked at."""
        if self._driver is not None:
            self._driver.close()
        elif self._state == "created":
            self._state = "closed"
            self._call = None  # never issued: its op never runs, as in plain Python
            lazy, self.lazy = self.lazy, None
            if type(lazy) is Lazy:
                cancel_op(_get(lazy, "_xcs_task"))

    def settle(self) -> None:
        """When its call ends: hold the op's outcome instead of its lazy value, so that
        a coroutine kept after the call (returned, stored, or held by a "never awaited"
        warning) keeps no lazy value alive and still gives the outcome when awaited."""
        lazy = self.lazy
        if type(lazy) is Lazy:
            task = _get(lazy, "_xcs_task")
            done = task.state is TaskState.DONE
            self.lazy = _Ended(task.value if done else None, None if done else failure_of(task))
        asyncio_task, self.failed_in = self.failed_in, None
        op_task, self._task = self._task, None
        if asyncio_task is not None and op_task is not None \
                and op_task.run.cancelled_by_failure(op_task):
            # Issued after the op whose failure the call raises: the glue ran ahead of
            # that failure to make this task, which plain Python never made.
            asyncio_task.add_done_callback(_retrieve)


class _Ended:
    """The outcome of an op whose call has ended (``OpCoroutine.settle``)."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self.value = value
        self.error = error


OpCoroutine.__name__ = OpCoroutine.__qualname__ = "coroutine"  # as in plain Python's messages
collections.abc.Coroutine.register(OpCoroutine)  # asyncio.iscoroutine, create_task, gather


async def _op_call(op_coroutine: Any, trace: Any, make: Any = None) -> Any:
    during_call = not trace.finished
    try:
        return await (op_coroutine if make is None else make())
    except BaseException as error:
        if during_call and (trace.glue_ended or type(error) is DeferredFailure):
            _retrieved_when_done(sys._getframe())
        elif during_call and type(op_coroutine) is OpCoroutine:
            op_coroutine.failed_in = _running_task(sys._getframe())  # see settle
        raise


def _retrieved_when_done(frame: types.FrameType) -> None:
    """Mark the outcome of the asyncio task running ``frame`` as retrieved once it is done.

    The op's failure reached the task after the glue ended, while the call waited for its
    ops: in plain Python the task would still have been pending there, and
    ``asyncio.run`` would have cancelled it quietly. Or the op ended with
    ``DeferredFailure`` (an earlier op failed): the glue ran ahead of that failure to
    make the task, which plain Python never made. Without this, asyncio would log
    "Task exception was never retrieved" for it. The task keeps its exception for
    whoever asks for it.
    """
    task = _running_task(frame)
    if task is not None:
        task.add_done_callback(_retrieve)


def _running_task(frame: types.FrameType) -> Any:
    """The asyncio task running ``frame`` (as its own coroutine), or ``None``."""
    import asyncio  # loaded: a coroutine of asyncio's drives this one

    try:
        task = asyncio.current_task()
    except RuntimeError:  # driven by hand, outside any event loop: no task to log
        return None
    if task is not None and getattr(task.get_coro(), "cr_frame", None) is frame:
        return task
    return None


def _retrieve(task: Any) -> None:
    if not task.cancelled():
        task.exception()


_OP_CALL = _op_call.__code__


def op_coroutine(name: str, lazy: Lazy | None = None,
                 call: functools.partial[Lazy] | None = None) -> Any:
    """What an ``async def`` op call in ``async def`` glue gives: a real coroutine named
    as the op's (``inspect.iscoroutine`` is true of it, ``cr_frame`` and the rest are
    there), around the ``OpCoroutine`` that does the work. Awaited in the glue, the
    ``OpCoroutine`` itself is awaited (``awaitable``); anything else drives it through
    the coroutine, as it would the op's own."""
    inner = OpCoroutine(name, lazy, call)
    trace = call.func.__self__ if call is not None else _get(lazy, "_xcs_trace")  # type: ignore[attr-defined]
    trace.coroutines.append(inner)
    return named(_op_call(inner, trace), name)


def eager_coroutine(trace: Any, task: Any, name: str) -> Any:
    """What an ``async def`` op call that runs eagerly (in a ``try`` or ``with`` block)
    gives in ``async def`` glue: a coroutine named as the op's that finishes with the
    op's outcome once it is final. The waiting coroutine is made once this one starts:
    made at once, it would warn "coroutine 'Trace.when_final' was never awaited" where
    plain Python's has nothing to say (a task cancelled before it started) or names the
    op alone (a coroutine dropped)."""
    return named(_op_call(None, trace, functools.partial(trace.when_final, task)), name)


def named(coroutine: Any, name: str) -> Any:
    """``coroutine``, named ``name`` (in its repr and a "never awaited" warning)."""
    coroutine.__name__ = coroutine.__qualname__ = name
    return coroutine


def _unstarted(coroutine: Any) -> OpCoroutine | None:
    """The ``OpCoroutine`` inside one of ours that nothing has started or closed."""
    if inspect.getcoroutinestate(coroutine) != inspect.CORO_CREATED:
        return None
    inner = coroutine.cr_frame.f_locals.get("op_coroutine")
    return inner if type(inner) is OpCoroutine else None


def _raise(kind: Any, value: Any = None, traceback: Any = None) -> Any:
    error = kind if isinstance(kind, BaseException) else kind(*(() if value is None else (value,)))
    raise error.with_traceback(traceback) if traceback is not None else error


def awaitable(value: Any) -> Any:
    """What ``await value`` in rewritten glue awaits."""
    kind = type(value)
    if kind is types.CoroutineType and value.cr_code is _OP_CALL:
        inner = _unstarted(value)
        if inner is not None:
            value.close()  # it never ran: closing it says nothing, and nothing else holds it
            return _awaited(inner)
    elif kind is OpCoroutine:
        return _awaited(value)
    if kind is Lazy:
        return _await_value(value)
    return value


def _awaited(coroutine: OpCoroutine) -> Any:
    """``await`` of an op's coroutine in the glue: the lazy result, or the op's outcome."""
    call = coroutine._call
    if call is not None and coroutine._state == "created":
        trace = call.func.__self__  # type: ignore[attr-defined]
        if not _current(trace) or trace.finished:
            return coroutine._drive()
        coroutine._issued()  # its body starts here, as in plain Python
    lazy = coroutine.lazy
    if type(lazy) is not Lazy:  # awaited or discarded already, or its call has ended
        return coroutine._drive()
    trace = _get(lazy, "_xcs_trace")
    if not _current(trace) or trace.finished:
        return coroutine._drive()  # awaited after its call ended, or by another call
    coroutine._claim()
    coroutine.lazy = None  # awaited: the glue holds the result from here on
    task = _get(lazy, "_xcs_task")
    if trace.site_mode() is not CallMode.LAZY:
        return trace.when_final(task)  # in a try block: its exception is raised here
    # In plain Python the glue would pause at this await while the op ran, and the
    # loop's other tasks would go on: the glue lets them run once, then goes on with
    # the lazy result (the op may still be running).
    run = task.run
    with run.lock:
        if not task.final:
            task.eager = False  # from here on, its failure is the call's failure
            trace.awaited.append(task)  # where a cancellation lands (api/stepping.py)
            return Suspending(lazy)
    if task.state is TaskState.DONE:
        return Suspending(lazy)
    return trace.when_final(task)  # it failed before the await: plain Python raises here


def _current(trace: Any) -> bool:
    return context.current_trace() is trace


async def _await_value(lazy: Lazy) -> Any:
    """``await`` of a value that is not a coroutine op's: plain Python awaits the value."""
    await ready(lazy)
    trace = _get(lazy, "_xcs_trace")
    return await trace.force(lazy, "await")
