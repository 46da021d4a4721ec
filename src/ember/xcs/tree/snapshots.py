"""Snapshots of op arguments: the container structure copied, leaves converted."""

from __future__ import annotations

import collections
import copy as copy_module
import sys
from collections.abc import Callable
from typing import Any

from ember.xcs.tree.kinds import (
    ATOMS,
    FrozensetInOrder,
    Kind,
    SetInOrder,
    in_order,
    kind_of,
    rebuild,
)
from ember.xcs.tree.walk import leaves

__all__ = ["copies_shared_objects", "snapshot", "snapshot_call"]

_NO_KWARGS: dict[str, Any] = {}  # shared by calls without keywords, never mutated


def snapshot(tree: Any, leaf: type, convert: Callable[[Any], Any], found: list[Any],
             held: list[Any], copied: list[tuple[Any, Any]] | None = None) -> Any:
    """A copy of ``tree``'s container structure with ``leaf`` values converted.

    Lists, dicts, sets and deques are copied (so later mutations of the original do
    not show); atoms and opaque objects are shared. Every converted leaf is appended
    to ``found``. Records are shared too, but searched: ``leaf`` values inside them are
    appended to ``held``, unconverted (the caller resolves them in place later). When
    ``copied`` is given, each container copied is appended to it as ``(copy, original)``.

    Example:
        >>> found, held = [], []
        >>> snapshot([1, [2]], int, str, found, held), found
        (['1', ['2']], [1, 2])
    """
    cls = type(tree)
    if cls is leaf:
        found.append(tree)
        return convert(tree)
    if cls in ATOMS:
        return tree
    if cls is tuple:  # the argument tuple of every call: walked without the general path
        memo: dict[int, Any] | None = None
        items: list[Any] = []
        changed = False
        for item in tree:
            kind = type(item)
            if kind is leaf:
                found.append(item)
                items.append(convert(item))
                changed = True
            elif kind in ATOMS:
                items.append(item)
            else:
                if memo is None:
                    memo = {}
                new = _snapshot(item, leaf, convert, found, held, memo, copied)
                changed = changed or new is not item
                items.append(new)
        return tuple(items) if changed else tree
    return _snapshot(tree, leaf, convert, found, held, {}, copied)


def snapshot_call(args: tuple[Any, ...], kwargs: dict[str, Any], leaf: type,
                  convert: Callable[[Any], Any], found: list[Any], held: list[Any],
                  copied: list[tuple[Any, Any]] | None = None
                  ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``snapshot`` of a call's arguments, with no work when they are literals only.

    Example:
        >>> found, held = [], []
        >>> snapshot_call((1, [2]), {"k": "v"}, int, str, found, held), found
        ((('1', ['2']), {'k': 'v'}), [1, 2])
    """
    for arg in args:
        if type(arg) not in ATOMS:
            args = snapshot(args, leaf, convert, found, held, copied)
            break
    if not kwargs:
        return args, _NO_KWARGS
    for value in kwargs.values():
        if type(value) not in ATOMS:
            return args, snapshot(kwargs, leaf, convert, found, held, copied)
    return args, dict(kwargs)  # literals only: a flat copy is the snapshot


def copies_shared_objects(args: tuple[Any, ...], kwargs: dict[str, Any], leaf: type, *,
                          stores: bool) -> bool:
    """Whether a snapshot of these arguments would copy an object a result may hand back,
    or one the call may change.

    A snapshot copies containers (records and other objects are shared); that is
    harmless for the top-level containers of a call that only reads them
    (``sorted(xs)``, ``" ".join(parts)``), but a list or dict inside one could come back
    in the result (``max(rows)``) or be stored (``r.append(d)``; ``stores``: the call
    may keep its arguments, so a top-level container counts too) and must keep its
    identity. And reading a missing key of a dict whose class has ``__missing__`` (a
    ``defaultdict``: ``template.format_map(slots)``) may add it: to the copy, not the
    caller's dict. (``Counter``'s adds nothing.) A set counts wherever it is, and a
    frozenset holding a ``leaf``: its copy may iterate in another order than the set
    itself (a set's order depends on its history, which a copy does not repeat), and
    ``",".join(s)`` or ``max(s, key=...)`` would see that order.

    Example:
        >>> copies_shared_objects(([1, 2],), {}, str, stores=False)
        False
        >>> copies_shared_objects(([{"a": 1}],), {}, str, stores=False)
        True
        >>> copies_shared_objects((collections.defaultdict(str),), {}, str, stores=False)
        True
        >>> copies_shared_objects(({"b", "a"},), {}, str, stores=False)
        True
    """
    todo = [(value, 0) for value in (*args, *kwargs.values())]
    while todo:
        value, depth = todo.pop()
        if type(value) in ATOMS or type(value) is leaf:
            continue
        kind = kind_of(value)
        if kind is Kind.SET or (kind is Kind.FROZENSET and leaves(value, leaf, first=True)):
            return True
        if kind in (Kind.LIST, Kind.DICT, Kind.DEQUE):
            if depth or stores or (kind is Kind.DICT and _adds_missing(type(value))):
                return True
            items: Any = (*value, *value.values()) if kind is Kind.DICT else value
        elif kind in (Kind.TUPLE, Kind.NAMEDTUPLE, Kind.FROZENSET):
            items = value
        else:
            continue  # records, arrays, functions: shared by a snapshot, not copied
        todo += [(item, depth + 1) for item in items]
    return False


def _adds_missing(cls: type) -> bool:
    """Whether reading a missing key of a ``cls`` dict may add it (``__missing__``)."""
    missing = getattr(cls, "__missing__", None)
    return missing is not None and missing is not collections.Counter.__missing__


def _snapshot(tree: Any, leaf: type, convert: Callable[[Any], Any], found: list[Any],
              held: list[Any], memo: dict[int, Any],
              copied: list[tuple[Any, Any]] | None) -> Any:
    if type(tree) is leaf:
        found.append(tree)
        return convert(tree)
    kind = kind_of(tree)
    if kind is Kind.ATOM or kind is Kind.OPAQUE:
        return tree
    key = id(tree)
    if key in memo:
        return memo[key]
    if kind is Kind.RECORD:
        memo[key] = tree
        held.extend(leaves(tree, leaf, records=True))
        return tree
    if kind is Kind.LIST:
        copy: Any = list.__new__(type(tree)) if type(tree) is not list else []
        memo[key] = copy
        list.extend(copy, [_snapshot(item, leaf, convert, found, held, memo, copied)
                           for item in tree])
        if type(tree) is not list:
            copy.__dict__.update(getattr(tree, "__dict__", {}))
        if copied is not None:
            copied.append((copy, tree))
        return copy
    if kind is Kind.DICT:
        copy = _empty_like(tree)
        memo[key] = copy
        for k, v in list(tree.items()):
            copy[_snapshot(k, leaf, convert, found, held, memo, copied)] = _snapshot(
                v, leaf, convert, found, held, memo, copied)
        if copied is not None:
            copied.append((copy, tree))
        return copy
    if kind is Kind.DEQUE:
        copy = collections.deque(maxlen=tree.maxlen)
        memo[key] = copy
        copy.extend([_snapshot(item, leaf, convert, found, held, memo, copied) for item in tree])
        if copied is not None:
            copied.append((copy, tree))
        return copy
    items = [_snapshot(item, leaf, convert, found, held, memo, copied) for item in tree]
    if kind is Kind.SET:
        if type(tree) is set:
            copy = _set_copy(tree, items)
        else:
            copy = _empty_like(tree)
            set.update(copy, items)
        memo[key] = copy
        if copied is not None:
            copied.append((copy, tree))
        return copy
    if all(new is old for new, old in zip(items, tree)):
        memo[key] = tree
        return tree
    rebuilt = _set_copy(tree, items) if type(tree) is frozenset else rebuild(tree, kind, items)
    memo[key] = rebuilt
    return rebuilt


def _set_copy(original: set[Any] | frozenset[Any], items: list[Any]) -> Any:
    """A copy of the set or frozenset ``original`` (its snapshot ``items``) that
    iterates in its order.

    A set made from a set copies its slots as they are, where adding the items one by
    one in their order may place two that collide the other way round: the op would see
    another order than plain Python's (``",".join(tags)``, ``max(s, key=...)`` ties). An
    item holding a lazy value makes a ``SetInOrder`` (``FrozensetInOrder``), whose
    stand-ins are swapped for the values in their slots once they exist.
    """
    order = list(original)
    pairs = [(old, new) for old, new in zip(order, items) if new is not old]
    if not pairs:
        # A set made from a set copies its slots (in_order adds none again whose
        # __hash__ is the user's).
        return in_order(set(original), order, sys.getsizeof(original))
    stands_in: SetInOrder | FrozensetInOrder = (
        SetInOrder(items) if type(original) is set else FrozensetInOrder(items))
    stands_in.layout, stands_in.order, stands_in.pairs = set(original), order, pairs
    stands_in.size = sys.getsizeof(original)
    return stands_in


def _empty_like(container: Any) -> Any:
    cls = type(container)
    if cls is dict or cls is set:
        return cls()
    empty = copy_module.copy(container)  # keeps defaultdict factories, OrderedDict type...
    empty.clear()
    return empty
