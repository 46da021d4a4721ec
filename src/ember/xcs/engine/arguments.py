"""The arguments an op body receives, and the check that it left them as they were.

Under ``@jit`` an op runs while the glue goes on, so it gets its own copy of the lists,
dicts, sets and deques it is passed (``tree.snapshot``): later changes by the glue do
not reach it. The other direction cannot be made plain: a change the op makes to such
a copy would never reach the caller's object, so plain Python and ``@jit`` would
differ. ``watch`` notes the containers an op receives before its body runs, and
``changed_in_place`` finds the first one its body changed: the call then fails with an
``ArgumentChangedError`` naming the op, its call site and the fix, instead of going on
with values plain Python would not have. Ops marked ``effect=True`` run in program
order on the caller's own objects and are not watched.
"""

from __future__ import annotations

from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import Task
from ember.xcs.errors import ArgumentChangedError

__all__ = ["argument_changed", "changed_in_place", "resolve", "watch"]

Views = list[tuple[Any, Any]]
_COPIED = frozenset({tree.Kind.LIST, tree.Kind.DICT, tree.Kind.SET, tree.Kind.DEQUE})
_SHARED = frozenset({tree.Kind.ATOM, tree.Kind.RECORD, tree.Kind.OPAQUE})


def _task_value(task: Task) -> Any:
    return task.value


def resolve(task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``task``'s arguments, ready for its body: input tasks replaced by their values.

    The task lets go of its argument tree (the tracer keeps its own record for the IR);
    records holding lazy values are resolved in place by ``task.prepare``.
    """
    args, kwargs = task.args or (), task.kwargs or {}
    if task.deps:
        args = tree.map_tree(args, _task_value, Task)
        if kwargs:
            kwargs = tree.map_tree(kwargs, _task_value, Task)
    prepare, task.prepare = task.prepare, None
    task.args = task.kwargs = None
    if prepare is not None:
        args, kwargs = prepare(args, kwargs)
    return args, kwargs


def watch(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Views | None:
    """The containers reachable from an op's arguments with their contents, or ``None``.

    Only lists, dicts, sets and deques are noted, through tuples and each other: those
    are what the op received as copies. Records and other objects are the caller's own
    (shared, as in plain Python) and are not looked into.
    """
    op = task.op
    if op is None or op.effect:
        return None
    views: Views | None = None
    atoms = tree.ATOMS
    for value in args:
        if type(value) not in atoms:
            views = _note(value, views, set())
    for value in kwargs.values():
        if type(value) not in atoms:
            views = _note(value, views, set())
    return views


def _note(value: Any, views: Views | None, seen: set[int]) -> Views | None:
    kind = tree.kind_of(value)
    if kind in _SHARED or id(value) in seen:
        return views
    seen.add(id(value))
    if kind in _COPIED:
        views = [] if views is None else views
        views.append((value, _contents(value, kind)))
    for item in tree.children(value, kind):
        views = _note(item, views, seen)
    return views


def _contents(container: Any, kind: tree.Kind) -> tuple[Any, ...] | frozenset[Any]:
    if kind is tree.Kind.SET:
        return frozenset(container)
    if kind is tree.Kind.DICT:
        return (*container, *container.values())
    return tuple(container)


def changed_in_place(views: Views) -> Any:
    """The first noted container whose contents changed since ``watch``, or ``None``.

    Lists, deques and dicts compare by identity, item by item (a dict by its keys, in
    order, and its values); sets by equality.
    """
    for container, before in views:
        now = _contents(container, tree.kind_of(container))
        if type(before) is frozenset:
            if now != before:
                return container
        elif len(now) != len(before) or any(a is not b for a, b in zip(now, before)):
            return container
    return None


def argument_changed(task: Task, container: Any) -> ArgumentChangedError:
    """The error for ``task``'s op having changed ``container`` in place."""
    kind = type(container).__name__
    where = f" at {task.location}" if task.location is not None else ""
    return ArgumentChangedError(
        f"op {task.name!r}{where} changed a {kind} it received as an argument, in place. "
        f"Under @jit an op runs while the code after its call goes on, on its own copy of "
        f"the lists, dicts, sets and deques passed to it, so the change would not reach "
        f"your {kind} as it does in plain Python. Fix: return the new value instead of "
        f"changing the argument, or mark the op @op(effect=True): it then runs in program "
        f"order on your own objects.")
