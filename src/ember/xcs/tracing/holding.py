"""Objects an op holds while it runs, so that the glue changes them only after it.

An op gets copies of the lists, dicts and sets in its arguments, but the objects of
the user's own classes (and dataclasses, ``SimpleNamespace``, pydantic models) are
shared with it, as in plain Python. In plain Python the op has finished before the
glue's next line runs, so a change the glue makes to such an object afterwards
(``state.step += 1``, ``state.notes.append(x)``, ``state.advance()``) is never seen
by the op. Under ``@jit`` the op may still be running; so the glue waits for it
before that change, and only then.

``Holders.note`` records, per op call (its lazy result), the shared objects of its
arguments and the containers and objects reachable from their attributes (to a
small depth). Before a change of one of them, ``Holders.unfinished`` names the op
calls still holding it; the rewritten glue (``runtime.changing``, and ``prep``
before a method call on it) waits for them, as a barrier. An op method's own
instance (``self`` of an ``@op`` method) is not an argument and is not recorded.
"""

from __future__ import annotations

import types
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.lazy import PURE_METHODS, Lazy

__all__ = ["Holders", "changed_by", "settle"]

_get = object.__getattribute__
_DEPTH = 3  # how deep attributes are followed from an argument
_CONTAINERS = (tree.Kind.LIST, tree.Kind.DICT, tree.Kind.SET, tree.Kind.DEQUE)
_WALKED = (tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE, tree.Kind.FROZENSET, *_CONTAINERS)


class Holders:
    """Per call: which op calls (their lazy results) hold which shared objects."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: dict[int, tuple[Any, list[Lazy]]] = {}  # id -> (object, op calls)

    def note(self, lazy: Lazy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Record the shared objects an op call receives (``args``: as the glue passed them)."""
        atoms = tree.ATOMS
        todo = [(value, 0, False) for value in args
                if type(value) not in atoms and type(value) is not Lazy]
        if kwargs:
            todo += [(value, 0, False) for value in kwargs.values()
                     if type(value) not in atoms and type(value) is not Lazy]
        if not todo:
            return  # literals and op results only: nothing shared
        seen: set[int] = set()
        while todo:
            value, depth, shared = todo.pop()
            if type(value) in tree.ATOMS or type(value) is Lazy or id(value) in seen:
                continue
            seen.add(id(value))
            kind = tree.kind_of(value)
            if kind is tree.Kind.RECORD:
                self._hold(value, lazy)
            elif kind not in _WALKED:
                continue
            elif shared and kind in _CONTAINERS:
                self._hold(value, lazy)  # reached through an object: not a copy
            if depth < _DEPTH:
                shared = shared or kind is tree.Kind.RECORD
                todo += [(item, depth + 1, shared) for item in tree.children(value, kind)]

    def _hold(self, value: Any, lazy: Lazy) -> None:
        entry = self.held.get(id(value))
        if entry is None or entry[0] is not value:
            self.held[id(value)] = (value, [lazy])
        elif entry[1][-1] is not lazy:
            entry[1].append(lazy)

    def unfinished(self, value: Any) -> list[Lazy]:
        """The op calls not final yet that hold ``value``."""
        entry = self.held.get(id(value))
        if entry is None or entry[0] is not value:
            return []
        lazies = [lazy for lazy in entry[1] if not _get(lazy, "_xcs_task").final]
        if not lazies:
            del self.held[id(value)]
        return lazies


def changed_by(fn: Any, args: tuple[Any, ...]) -> Any:
    """The object a call of ``fn`` may change in place (``None`` if none is known).

    A method of a container (``notes.append``; not the reading ones such as ``get``),
    any method of an object (``state.advance()``: it may change it), and the object
    of ``setattr``/``delattr``.
    """
    if (fn is setattr or fn is delattr) and args:
        return args[0]
    kind = type(fn)
    if kind is types.BuiltinFunctionType or kind is types.MethodType:
        owner = getattr(fn, "__self__", None)
        if owner is None or type(owner) in tree.ATOMS or isinstance(owner, types.ModuleType):
            return None
        if kind is types.BuiltinFunctionType and fn.__name__ in PURE_METHODS:
            return None
        return owner
    return None


def settle(trace: Any, value: Any) -> None:
    """Before the glue changes ``value``: the op calls holding it end first (a barrier)."""
    for lazy in trace.ordering.holders.unfinished(value):
        trace.force(lazy, f"{type(value).__name__} changed while op "
                          f"{_get(lazy, '_xcs_task').name} holds it")
