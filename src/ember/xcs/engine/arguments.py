"""The arguments an op body receives, and the check that it left them as they were.

Under ``@jit`` an op runs while the glue goes on, so it gets its own copy of the lists,
dicts, sets and deques it is passed (``tree.snapshot``): later changes by the glue do
not reach it. The other direction cannot be made plain: a change the op makes to such
a copy would never reach the caller's object, so plain Python and ``@jit`` would
differ. ``watch`` notes the containers an op receives before its body runs, and
``changed_in_place`` finds the first one its body changed: the call then fails with an
``ArgumentChangedError`` naming the op, its call site and the fix, instead of going on
with values plain Python would not have. An earlier op's value reaches the next op as
the object itself (as in plain Python) and is not watched; nor are ops that run
eagerly (``effect=True``, in a ``try`` or ``with`` block...): the glue waits for them,
so they get the caller's own objects. In a graph an effect op runs alone, in program
order, and gets the objects it was given too. On an executor that shares the caller's
objects (a thread pool) the check runs on the worker (``invoke_watched``); on one that
pickles each call (processes, Dask) everything the op receives is a copy, and
``engine.shipped`` checks all of it there.
"""

from __future__ import annotations

import operator
from collections import defaultdict, deque
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import Task
from ember.xcs.errors import ArgumentChangedError

__all__ = [
    "argument_changed",
    "changed_in_place",
    "invoke_watched",
    "location_of",
    "originals",
    "resolve",
    "watch",
]

Views = list[tuple[Any, Any]]
_COPIED = frozenset({tree.Kind.LIST, tree.Kind.DICT, tree.Kind.SET, tree.Kind.DEQUE})
_WALKED = frozenset({tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE, tree.Kind.FROZENSET})


def _task_value(task: Task) -> Any:
    return task.value


def resolve(task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``task``'s arguments, ready for its body: input tasks replaced by their values.

    The task lets go of its argument tree (the tracer keeps its own record for the IR);
    records holding lazy values are resolved in place by ``task.prepare``.
    """
    args, kwargs = task.args or (), task.kwargs or {}
    if task.deps:
        # A traced call's containers are the snapshot's copies already, which
        # ``originals`` maps back to the caller's objects: keep those that hold no input.
        share = task.shares or task.copied is not None
        given = args, kwargs
        args = tree.map_tree(args, _task_value, Task, share=share)
        if kwargs:
            kwargs = tree.map_tree(kwargs, _task_value, Task, share=share)
        if task.copied:
            # A copy holding an earlier op's value was built again, with the value in:
            # the body gets that one, so it stands for the caller's object too.
            by_id = {id(copy): original for copy, original in task.copied}
            _follow(given, (args, kwargs), by_id, task.copied)
    prepare, task.prepare = task.prepare, None
    task.args = task.kwargs = None
    if prepare is not None:
        args, kwargs = prepare(args, kwargs)
    return args, kwargs


def _follow(old: Any, new: Any, by_id: dict[int, Any], copied: list[tuple[Any, Any]]) -> None:
    """Add to ``copied`` the containers of ``new`` built again from a copy in ``old``
    (the same tree, with input tasks replaced by their values)."""
    if old is new or type(old) in tree.ATOMS or type(old) is Task:
        return
    original = by_id.get(id(old))
    if original is not None:
        copied.append((new, original))
    kind = tree.kind_of(old)
    if kind is tree.Kind.DICT:
        for old_item, new_item in zip(old.values(), new.values(), strict=False):
            _follow(old_item, new_item, by_id, copied)
    elif kind in (tree.Kind.LIST, tree.Kind.DEQUE, tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE):
        for old_item, new_item in zip(old, new, strict=False):
            _follow(old_item, new_item, by_id, copied)


def watch(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Views | None:
    """The containers XCS copied for an op, each with its contents now; or ``None``.

    Those are the lists, dicts, sets and deques reachable from the arguments (through
    tuples and each other) that are not an earlier op's value: such a value is the
    object itself, shared as in plain Python. Records and other objects are shared
    too, and not looked into. An op that runs eagerly or ``shares`` (an effect in a
    graph) gets the caller's own objects and is not watched.
    """
    if task.op is None or task.eager or task.shares:
        return None
    atoms = tree.ATOMS
    for value in (*args, *kwargs.values()) if kwargs else args:
        if type(value) not in atoms:
            break
    else:
        return None  # literals only (most calls): nothing was copied
    todo = [value for value in args if type(value) not in atoms]
    todo += [value for value in kwargs.values() if type(value) not in atoms]
    seen = {id(dep.value) for dep in task.deps}  # earlier ops' values: not copies
    views: Views = []
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        kind = tree.kind_of(value)
        if kind in _COPIED:
            contents = _contents(value, kind)
            views.append((value, contents))
            items: Any = contents
        elif kind in _WALKED:
            items = value
        else:
            continue
        todo += [item for item in items if type(item) not in atoms]
    return views or None


def originals(value: Any, copied: list[tuple[Any, Any]]) -> Any:
    """``value`` with the argument copies it hands back replaced by the caller's objects.

    An op given a list (``validate(rows)``) gets a copy of it; a body returning that
    list, or a dict or list of its own holding it (``{"rows": rows}``), must give the
    caller's list itself, as in plain Python (``r is rows``). ``copied`` keeps the
    copies alive, so their ids are theirs. Only containers the body built are entered
    (lists, dicts, tuples), a few levels deep.
    """
    by_id = {id(copy): original for copy, original in copied}
    if id(value) in by_id:
        return by_id[id(value)]
    return _put_back(value, by_id, 3)


def _put_back(value: Any, by_id: dict[int, Any], depth: int) -> Any:
    kind = type(value)
    if depth == 0 or kind in tree.ATOMS:
        return value
    if kind is list:
        for index, item in enumerate(value):
            if type(item) not in tree.ATOMS:
                value[index] = by_id[id(item)] if id(item) in by_id \
                    else _put_back(item, by_id, depth - 1)
    elif kind is dict:
        for key, item in value.items():
            if type(item) not in tree.ATOMS:
                value[key] = by_id[id(item)] if id(item) in by_id \
                    else _put_back(item, by_id, depth - 1)
    elif kind is tuple:
        items = [by_id[id(item)] if id(item) in by_id else _put_back(item, by_id, depth - 1)
                 for item in value]
        if any(new is not old for new, old in zip(items, value)):
            return tuple(items)
    return value


def _contents(container: Any, kind: tree.Kind) -> tuple[Any, ...] | frozenset[Any]:
    """What a container holds, read from its storage (never from overridden methods)."""
    if kind is tree.Kind.LIST:
        return tuple(list.__iter__(container))
    if kind is tree.Kind.DICT:
        return (*dict.keys(container), *dict.values(container))
    if kind is tree.Kind.SET:
        return frozenset(set.__iter__(container))
    return tuple(deque.__iter__(container))


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
        elif len(now) != len(before) or not all(map(operator.is_, now, before)):
            return container
    return None


def invoke_watched(op: Any, args: tuple[Any, ...], kwargs: dict[str, Any], views: Views,
                   where: str) -> Any:
    """``op.invoke`` for an executor: the body, then the check (on the worker, where the
    arguments are; module level, so that process and Dask workers can receive it)."""
    value = op.invoke(args, kwargs)
    changed = changed_in_place(views)
    if changed is not None:
        raise _error(op.name, where, changed, getattr(op, "item_of", None))
    return value


def argument_changed(task: Task, container: Any) -> ArgumentChangedError:
    """The error for ``task``'s op having changed ``container`` in place."""
    return _error(task.name, location_of(task), container, getattr(task.op, "item_of", None))


def location_of(task: Task) -> str:
    """`` at file:line`` of the task's call site, or nothing."""
    return f" at {task.location}" if task.location is not None else ""


def _error(name: str, where: str, container: Any, item_of: str | None = None
           ) -> ArgumentChangedError:
    kind = type(container).__name__
    # Reading a missing key of a defaultdict inserts it: a change the op may not intend.
    how = " (reading a missing key of a defaultdict adds it)" \
        if isinstance(container, defaultdict) else ""
    if item_of is not None:  # a transform's items: the user wrote no op
        return ArgumentChangedError(
            f"{item_of}: the function {name!r}{where} changed a {kind} it received as an "
            f"argument, in place{how}. Each item runs as an op, on its own copy of the "
            f"lists, dicts, sets and deques passed to it (the items run at once), so the "
            f"change would not reach your {kind} as it does in a plain loop. Fix: return "
            f"the new value instead of changing the argument, or map an op marked "
            f"effect=True ({item_of.split('(')[0]}(op({name}, effect=True), ...)): its items "
            f"then run one at a time, in order, on your own objects.")
    return ArgumentChangedError(
        f"op {name!r}{where} changed a {kind} it received as an argument, in place{how}. "
        f"An op runs on its own copy of the lists, dicts, sets and deques passed to it "
        f"(under @jit while the code after its call goes on; in a graph whenever it is "
        f"executed), so the change would not reach your {kind} as it does in plain Python. "
        f"Fix: return the new value instead of changing the argument, or mark the op "
        f"effect=True (@op(effect=True); a leaf Operator: effect = True in its class): "
        f"it then runs in program order on your own objects.")
