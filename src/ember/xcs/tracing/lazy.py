"""``Lazy``: the value an op call returns under ``@jit`` before the op has finished.

A ``Lazy`` stands for a future result. It is a ``Proxy``: cheap pure operations on it
are lifted into nodes that run as soon as the value exists, and operations that need
the real object are barriers that wait for this value only (see ``tracing.proxy``).

Besides its task and trace, a lazy value knows its *roots*: the op results whose
objects it may share (``r["items"]`` shares ``r``'s list). Lifted operations on the
same root run in program order, so an in-place change (``r.sort()``, ``r += [...]``,
``r["k"] = v``) is seen by every later read and by every op that receives the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.xcs.tracing.proxy import Proxy

if TYPE_CHECKING:
    from ember.xcs.engine.state import Task
    from ember.xcs.tracing.trace import Trace

__all__ = ["Lazy", "is_lazy", "task_of"]

_set = object.__setattr__
_get = object.__getattribute__


class Lazy(Proxy):
    """A proxy for the result of a traced op or lifted operation (see the module docstring)."""

    __slots__ = ("_xcs_roots", "_xcs_task", "_xcs_trace")

    def __init__(self, task: Task, trace: Trace, roots: tuple[Task, ...]) -> None:
        _set(self, "_xcs_task", task)
        _set(self, "_xcs_trace", trace)
        _set(self, "_xcs_roots", roots)

    def _xcs_force(self, reason: str) -> Any:
        return _get(self, "_xcs_trace").force(self, reason)

    def _xcs_lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any], mutates: bool = False) -> Any:
        return _get(self, "_xcs_trace").lift(name, fn, args, kwargs, mutates=mutates)

    def __await__(self) -> Any:
        # ``await`` on an op result inside ``@jit async def`` yields the lazy value
        # itself: the op is already running on the engine, awaiting must not serialise.
        return self
        yield  # pragma: no cover - makes this a generator function


def is_lazy(value: object) -> bool:
    """Whether ``value`` is a ``Lazy`` (never asks the value itself)."""
    return type(value) is Lazy


def task_of(value: Lazy) -> Task:
    """The task behind a lazy value."""
    task: Task = _get(value, "_xcs_task")
    return task
