"""What runs a task's body, and in which exception handler.

An op called in an ``except`` block of the glue runs, in plain Python, while that
exception is being handled: its body's ``sys.exc_info()``, ``traceback.format_exc()``,
``logging.exception(...)`` and bare ``raise`` see it, and an exception the body raises
has it as ``__context__``. Under ``@jit`` the body may run on another thread, or as a
task on the engine's event loop, where nothing is being handled. So ``Engine.submit``
notes the exception the caller is handling (``Task.handling``), and the body runs
inside an ``except`` block of that exception. Raising it again there adds no frame to
its traceback (it is put back), so what the glue sees of it stays as it was.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Awaitable, Callable
from typing import Any

from ember.xcs.engine.task import Task

__all__ = ["async_body", "body", "twin_error"]

_FUNCTION = types.FunctionType


def body(task: Task) -> Callable[..., Any]:
    """What calls ``task``'s body in a thread: a lifted task's function, the op's, or
    for an ``async def`` op (``executor="sync"``) its coroutine run to completion."""
    op = task.op
    if op is None:
        assert task.fn is not None, "a lifted task always has a function"
        call: Callable[..., Any] = task.fn
    elif op.is_coroutine or op.async_fn is not None:
        call = op.run
    else:
        call = op.fn
    handling, task.handling = task.handling, None
    return call if handling is None else functools.partial(_while_handling, handling, call)


def async_body(task: Task) -> Callable[..., Awaitable[Any]]:
    """What awaits the body of ``task``, an op with an async path, on an event loop."""
    op = task.op
    call = op.async_fn if op.async_fn is not None else op.fn
    # A policy layer (``ember.xcs.policy_runs``) is a function marked with its settings.
    marked = call.__dict__.get("__xcs_policies__") if type(call) is _FUNCTION else None
    if marked is not None and marked[0].passes_through():
        call = marked[1]  # a model call with no cache in use: its coroutine, one frame less
    handling, task.handling = task.handling, None
    return call if handling is None else functools.partial(_awaiting_while_handling,
                                                           handling, call)


def twin_error(task: Task, error: BaseException) -> BaseException:
    """What the sync body of an op with an ``async_fn`` twin would have raised, given
    the twin's ``error``.

    A ``StopIteration`` cannot leave a coroutine: Python turns it into a
    ``RuntimeError`` (PEP 479) as it does, with the ``StopIteration`` as its cause. The
    engine awaits the twin in place of the sync body the glue called, and that body
    would have raised the ``StopIteration`` itself (a model provider's scripted fake,
    ``next(replies)``, run out), so that is what is reported.
    """
    op = task.op
    cause = error.__cause__
    if (op is not None and op.async_fn is not None and type(error) is RuntimeError
            and isinstance(cause, StopIteration)
            and error.args == ("coroutine raised StopIteration",)):
        return cause
    return error


def _while_handling(error: BaseException, call: Callable[..., Any], /, *args: Any,
                    **kwargs: Any) -> Any:
    if sys.exception() is error:  # run right in the glue's handler: nothing to do
        return call(*args, **kwargs)
    kept = _kept(error)
    try:
        raise error
    except BaseException:
        _restore(error, kept)  # as the glue has it: no frame or context of ours
        return call(*args, **kwargs)


async def _awaiting_while_handling(error: BaseException,
                                   call: Callable[..., Awaitable[Any]], /, *args: Any,
                                   **kwargs: Any) -> Any:
    kept = _kept(error)
    try:
        raise error
    except BaseException:
        _restore(error, kept)
        return await call(*args, **kwargs)


def _kept(error: BaseException) -> tuple[Any, ...]:
    """What raising ``error`` again changes: its traceback, and its context when another
    exception is being handled where it is raised."""
    return error.__traceback__, error.__context__, error.__suppress_context__


def _restore(error: BaseException, kept: tuple[Any, ...]) -> None:
    error.__traceback__, error.__context__, error.__suppress_context__ = kept
