"""``Lazy``: the value an op call returns under ``@jit`` before the op has finished.

A ``Lazy`` stands for a future result. It is a ``Proxy``: cheap pure operations on it
are lifted into nodes that run as soon as the value exists, and operations that need
the real object are barriers that wait for this value only (see ``tracing.proxy``).

Besides its task and trace, a lazy value knows its *roots*: the op results whose
objects it may share (``r["items"]`` shares ``r``'s list). Per root the trace orders
reads and writes as plain Python would: an in-place change (``r.sort()``,
``r += [...]``, ``r["k"] = v``, a method call not known to be pure) waits for every
earlier use of the root, and every later use waits for it, so aliases and ops that
receive the value see exactly the changes made before them.

This module sits below ``tracing.trace``, which builds on it: a lazy value reaches its
trace only through ``LazyOwner`` (what ``Trace`` offers a lazy value), which ``Trace``
satisfies structurally.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ember.xcs.engine.task import TaskState
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import is_library_frame
from ember.xcs.tracing.methods import MethodCall, method_call
from ember.xcs.tracing.proxy import Proxy
from ember.xcs.tracing.usercode import (
    has_user_special_methods,
    is_pandas_type,
    runs_user_code,
)
from ember.xcs.tree import ATOMS, Kind, kind_of
from ember.xcs.tree.kinds import record_items

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task

__all__ = ["Lazy", "LazyOwner", "is_lazy", "roots_of", "task_of"]

_set = object.__setattr__
_get = object.__getattribute__

class LazyOwner(Protocol):
    """The trace a lazy value belongs to (``tracing.trace.Trace``), as the value uses it."""

    def force(self, lazy: Lazy, reason: str) -> Any:
        """The value behind ``lazy``, waited for at a barrier described by ``reason``."""
        ...

    def lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any], mutates: bool = False, returns_argument: bool = False
             ) -> Any:
        """``fn(*args, **kwargs)`` on lazy values, recorded as a lifted operation."""
        ...


class Lazy(Proxy):
    """A proxy for the result of a traced op or lifted operation (see the module docstring)."""

    __slots__ = ("_xcs_attribute", "_xcs_owner", "_xcs_roots", "_xcs_task", "_xcs_trace")

    def __init__(self, task: Task, trace: LazyOwner, roots: tuple[Task, ...] | None,
                 attribute: str | None = None) -> None:
        # roots None: its own task is its one root (an op result; read with ``roots_of``),
        # so that no tuple is kept (and traced by the cyclic GC) per op call in flight.
        _set(self, "_xcs_task", task)
        _set(self, "_xcs_trace", trace)
        _set(self, "_xcs_roots", roots)
        _set(self, "_xcs_attribute", attribute)  # for x.name: calling it may change x
        _set(self, "_xcs_owner", None)  # for x.name: x's class, when it was known

    def _xcs_force(self, reason: str) -> Any:
        return _get(self, "_xcs_trace").force(self, reason)

    def _xcs_lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any], mutates: bool = False) -> Any:
        attribute = _get(self, "_xcs_attribute")
        trace = _get(self, "_xcs_trace")
        returns_argument = False
        if name == "call" and attribute is None:
            # Calling a value itself (a tool an op picked: ``tool = route(q); tool(q)``)
            # runs code that is most likely the user's: in program order, as in plain Python.
            return self._xcs_force("call of an op result")(*args[1:], **kwargs)
        if name == "call":
            owner = _get(self, "_xcs_owner")
            how = method_call(owner, attribute)
            if how is MethodCall.NOW:  # path.write_text(s): it may act outside the value
                method = f"{owner.__name__}.{attribute}" if owner else f"method {attribute}"
                return context.call(self._xcs_force(method), *args[1:], **kwargs)
            if how is MethodCall.READS:
                mutates = False  # r.strip(), d.get(k): reading, not changing
                returns_argument = attribute == "get"  # d.get(k, default) gives default back
        elif name == "getattr":
            if is_library_frame(sys._getframe(2)):  # the frame reading the attribute
                # A library's code (pandas: getattr(x, "_typ", None), hasattr(x, "ndim"))
                # decides by the value's attributes at once: give it the real ones.
                return getattr(self._xcs_force(f"attribute {args[1]} read by library code"),
                               args[1])
            known = _known_type(self)
            if known is not None and runs_user_code(known, args[1]):
                # A method or property of the user's class: it runs in program order.
                return getattr(self._xcs_force(f"{known.__name__}.{args[1]}"), args[1])
            read = trace.lift(name, fn, args, kwargs)
            if known is not None and type(read) is Lazy:
                _set(read, "_xcs_owner", known)  # how a call of the attribute runs
            return read
        return trace.lift(name, fn, args, kwargs, mutates=mutates,
                          returns_argument=returns_argument)

    @property
    def _xcs_value(self) -> Any:
        """The value, for a ``case`` pattern reading one (``tracing.patterns``)."""
        return self._xcs_force("match")

    def __await__(self) -> Any:
        # ``await`` on an op result inside ``@jit async def`` yields the lazy value
        # itself: the op is already running on the engine, awaiting must not serialise.
        return self
        yield  # pragma: no cover - makes this a generator function


_DONE = TaskState.DONE


def _known_type(lazy: Lazy) -> type | None:
    """The class of ``lazy``'s value, when known before it exists: from its op."""
    task = _get(lazy, "_xcs_task")
    if task.state is _DONE:
        return type(task.value)
    op = task.op
    return op.result_type() if op is not None else None


def operates_on_user_object(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether an operation takes an object whose class has special methods of the
    user's (see ``usercode.has_user_special_methods``), as an operand, an item of a
    list, tuple or dict operand, or a bound of a slice among them: a lazy value known to
    be one, or such an object itself (``str(card)``, ``key in seen``, ``r[:budget]``),
    or an attribute of a dataclass or object of the user's given (``copy.deepcopy(box)``).
    The operation would run them. So is a pandas object (``df.score > t``): its
    operators read the operand's type and dtype, which a lazy value would answer wrongly."""
    atoms = ATOMS
    for value in (*args, *kwargs.values()) if kwargs else args:
        kind = type(value)
        if kind is list or kind is tuple:
            items: Any = value
        elif kind is dict:
            items = (*value, *value.values())
        elif kind not in atoms and kind is not Lazy and kind_of(value) is Kind.RECORD:
            # copy.deepcopy(box): the special methods of what its attributes hold run too
            items = (value, *(item for _, item in record_items(value)))  # slots too
        else:
            items = (value,)
        for item in items:
            if type(item) is slice:  # r[:budget], grid[1:budget, 0]: its bounds
                if operates_on_user_object((item.start, item.stop, item.step), {}):
                    return True
                continue
            cls: type | None = type(item)
            if cls is Lazy:
                cls = _known_type(item)
            elif cls in atoms:
                continue
            if cls is not None and (has_user_special_methods(cls)
                                    or is_pandas_type(cls)):
                return True  # a pandas object: its operators run library code on it now
    return False


def roots_of(lazy: Lazy) -> tuple[Task, ...]:
    """The op results whose objects ``lazy`` may share (see the module docstring)."""
    roots: tuple[Task, ...] | None = _get(lazy, "_xcs_roots")
    return (_get(lazy, "_xcs_task"),) if roots is None else roots


def is_lazy(value: object) -> bool:
    """Whether ``value`` is a ``Lazy`` (never asks the value itself)."""
    return type(value) is Lazy


def task_of(value: Lazy) -> Task:
    """The task behind a lazy value."""
    task: Task = _get(value, "_xcs_task")
    return task
