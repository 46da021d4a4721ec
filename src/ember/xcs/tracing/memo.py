"""Matching op calls of a rerun against the run before it (the last-resort memo).

When the glue runs again from the top (C code rejected a lazy value the tracer did not
see coming), each op call is compared with the call at the same position in the run
before: same op, arguments that match (lazy values match their value, or an equivalent
lifted operation), so the earlier task is reused and no op runs twice. The rerun makes
the glue's objects again: an object of a class without an ``__eq__`` of its own matches
one of the same class whose attributes match, and a method op of such an object
(``Agent("x").ask(q)``) matches the same method of the object made before.

An op that runs in program order on the caller's own objects (``effect=True``) may
change them: the memo keeps its arguments as they were at the call (``taken``), and when
the rerun reuses the call with objects it made again, it gives them the state the op
left the earlier ones in (``_replay``), so that the rerun sees the op's change as plain
Python's one run did.
"""

from __future__ import annotations

import array
import collections
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import TaskState
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tree.kinds import record_items

__all__ = ["STEP", "reused_call", "same", "taken"]

STEP = 4  # items per op call in a trace's ``issued`` list: op, args, kwargs, lazy value

_get = object.__getattribute__
_IDENTITY_EQ: Any = object.__eq__  # the __eq__ of a class that defines none


def reused_call(memo: list[Any], position: int, op: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Lazy | None:
    """The lazy value of the call at ``position`` of the run before, if ``op`` called
    with these arguments matches it; ``None`` once the run has diverged.

    ``memo`` and ``position`` are flat: each call is ``STEP`` items (op, args, kwargs,
    lazy value), so ``position`` is ``STEP`` times the call's index.
    """
    if position + STEP <= len(memo):
        old_op, old_args, old_kwargs, lazy = memo[position:position + STEP]
        # (a ``Taken`` matches a plain tuple: the rerun may run eagerly what ran lazily)
        if _same_op(op, old_op) and same(tuple(args), tuple(old_args)) \
                and same(kwargs, old_kwargs):
            if type(args) is Taken and type(old_args) is Taken:
                _replay(old_args.given, args.given)
            return lazy  # type: ignore[no-any-return]
    return None


def _same_op(new: Any, old: Any) -> bool:
    """The same op, or the same method op of an object that matches the one before."""
    if new.identity == old.identity:
        return True
    method, old_method = new.fn, old.fn
    return (type(method) is types.MethodType and type(old_method) is types.MethodType
            and method.__func__ is old_method.__func__
            and same(method.__self__, old_method.__self__))


def same(new: Any, old: Any, depth: int = 4) -> bool:
    """Whether ``new`` matches ``old`` for memo reuse (lazy values match their value)."""
    if new is old:
        return True
    if type(new) is Lazy or type(old) is Lazy:
        return _same_value(new, old)
    if type(new) is not type(old) or depth < 0:
        return False
    if isinstance(new, list | tuple):
        return len(new) == len(old) and all(same(a, b, depth - 1) for a, b in zip(new, old))
    if isinstance(new, dict):
        return new.keys() == old.keys() and all(same(new[k], old[k], depth - 1) for k in new)
    if type(new).__eq__ is _IDENTITY_EQ:  # made again by the rerun: matched by its fields
        if not hasattr(new, "__dict__") and not tree.slot_names(type(new)):
            return False  # a C object (a file, a lock): only itself
        fields, old_fields = _fields(new), _fields(old)
        return fields is not None and old_fields is not None \
            and same(fields, old_fields, depth - 1)
    try:
        return (new == old) is True
    except Exception:
        return False


def _same_value(new: Any, old: Any) -> bool:
    """Match where either side may be lazy: same task, an equivalent lifted task (same
    operation on matching inputs), or a finished task whose value matches."""
    new_task = _get(new, "_xcs_task") if type(new) is Lazy else None
    old_task = _get(old, "_xcs_task") if type(old) is Lazy else None
    if new_task is not None and new_task is old_task:
        return True
    if (new_task is not None and old_task is not None and new_task.kind is NodeKind.LIFTED
            and old_task.kind is NodeKind.LIFTED and new_task.fn is old_task.fn
            and new_task.name == old_task.name):
        return True
    for task in (new_task, old_task):
        if task is not None and task.state is not TaskState.DONE:
            return False
    left = new_task.value if new_task is not None else new
    right = old_task.value if old_task is not None else old
    return same(left, right)


class Taken(tuple):  # type: ignore[type-arg]
    """The arguments of an op call run on the caller's objects, as they were at the call
    (records by a copy of their attributes), with the objects given (``given``)."""

    given: tuple[Any, ...]


def taken(args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The memo's arguments of an op call that runs on the caller's own objects: a
    snapshot of them, with objects of the user's (matched by their attributes) copied as
    they are now, and the objects themselves kept for ``_replay``."""
    snapshot_args, snapshot_kwargs = tree.snapshot_call(args, kwargs, Lazy, _itself, [], [])
    values = (*snapshot_args, *snapshot_kwargs.values())
    held = tuple(_state(value) for value in values)
    result = Taken(held[:len(snapshot_args)])
    result.given = (*args, *kwargs.values())
    return result, dict(zip(snapshot_kwargs, held[len(snapshot_args):], strict=True))


def _itself(value: Any) -> Any:
    return value


def _state(value: Any) -> Any:
    """``value``, or for an object of the user's (a record: matched by its attributes or
    its ``__eq__``) a copy of it with its attributes as they are (in ``__dict__`` or in
    slots: ``@dataclass(slots=True)``); an ``array.array`` copied, a tuple's items so."""
    kind = type(value)
    if kind is tuple:  # (store,): its items are the caller's objects too
        return tuple(_state(item) for item in value)
    if kind is array.array:
        return array.array(value.typecode, value)
    if tree.kind_of(value) is not tree.Kind.RECORD:
        return value
    fields = _fields(value)
    if fields is None:
        return value
    try:
        copy = object.__new__(kind)
    except TypeError:  # a class object.__new__ cannot make (a C type's subclass)
        return value
    # its lists and dicts too, as they are now
    _set_fields(copy, tree.snapshot_call((fields,), {}, Lazy, _itself, [], [])[0][0])
    return copy


def _fields(value: Any) -> dict[str, Any] | None:
    """A record's attributes: its ``__dict__`` and its slots that are set (None when it
    has a ``__dict__`` that is no dict)."""
    if type(getattr(value, "__dict__", {})) is not dict:
        return None
    return dict(record_items(value))


def _set_fields(target: Any, fields: dict[str, Any]) -> None:
    """Give ``target`` exactly ``fields`` (a record made again: no attribute of its own
    that ``fields`` lacks)."""
    slots = tree.slot_names(type(target))
    for name in slots:
        if name in fields:
            object.__setattr__(target, name, fields[name])
        elif hasattr(target, name):
            object.__delattr__(target, name)
    namespace = getattr(target, "__dict__", None)
    if type(namespace) is dict:
        namespace.clear()
        namespace.update({k: v for k, v in fields.items() if k not in slots})


def _replay(old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
    """Give each object of ``new`` the state its counterpart in ``old`` is in now."""
    for before, now in zip(old, new, strict=False):
        if before is now or type(before) is not type(now):
            continue
        if type(now) is tuple:
            _replay(before, now)
        elif isinstance(now, list | bytearray | array.array):
            now[:] = before
        elif isinstance(now, collections.deque):
            now.clear()
            now.extend(before)
        elif isinstance(now, dict | set):
            now.clear()
            now.update(before)
        elif tree.kind_of(now) is tree.Kind.RECORD:
            fields = _fields(before)
            if fields is not None and _fields(now) is not None:
                _set_fields(now, fields)
