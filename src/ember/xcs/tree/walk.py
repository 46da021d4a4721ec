"""Walking a value tree: find its leaves, replace them in place, or map them in a copy."""

from __future__ import annotations

import collections
import copy
from collections.abc import Callable
from typing import Any

from ember.xcs.tree.kinds import (
    ATOMS,
    FrozensetInOrder,
    Kind,
    SetInOrder,
    children,
    frozen_in_slots,
    in_order,
    kind_of,
    rebuild,
    record_items,
    set_attribute,
)

__all__ = ["contains", "first_match", "leaves", "map_tree", "replace"]


def contains(tree: Any, leaf: type, *, records: bool = False) -> bool:
    """Whether a ``leaf``-typed value occurs anywhere in ``tree``.

    Example:
        >>> contains({"a": [1, (2, 3.0)]}, float)
        True
    """
    return bool(leaves(tree, leaf, records=records, first=True))


def leaves(tree: Any, leaf: type, *, records: bool = False, first: bool = False) -> list[Any]:
    """Every ``leaf``-typed value in ``tree``, depth first (each object once).

    Args:
        tree: the value to search.
        leaf: the exact type of the values wanted (subclasses are not leaves).
        records: also look inside dataclasses and user objects.
        first: stop at the first one found.

    Example:
        >>> leaves([1, {"k": 2}, (3,)], int)
        [1, 2, 3]
    """
    if type(tree) in ATOMS and leaf not in ATOMS:
        return []
    skipped = ATOMS if leaf not in ATOMS else frozenset()  # left out before the stack
    return _search(tree, leaf, None, skipped, records, first)


def first_match(tree: Any, test: Callable[[Any], bool], *, records: bool = False) -> Any:
    """The first value in ``tree`` for which ``test`` holds (not looked inside), depth
    first, or ``None``.

    Example:
        >>> first_match([1, {"k": "a needle"}], lambda v: isinstance(v, str) and "needle" in v)
        'a needle'
    """
    found = _search(tree, None, test, frozenset(), records, True)
    return found[0] if found else None


def _search(tree: Any, leaf: type | None, test: Callable[[Any], bool] | None,
            skipped: frozenset[type], records: bool, first: bool) -> list[Any]:
    """The values of type ``leaf`` (or passing ``test``), not entering ``skipped`` types."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [tree]
    while stack:
        value = stack.pop()
        if type(value) is leaf if test is None else test(value):
            found.append(value)
            if first:
                return found
            continue
        kind = kind_of(value)
        if kind is Kind.ATOM or kind is Kind.OPAQUE or (kind is Kind.RECORD and not records):
            continue
        if id(value) in seen:
            continue
        seen.add(id(value))
        items = list(value) if kind is Kind.LIST or kind is Kind.TUPLE else children(value, kind)
        inside = [item for item in items if type(item) not in skipped]
        inside.reverse()
        stack.extend(inside)
    return found


def replace(tree: Any, fn: Callable[[Any], Any], leaf: type, *, records: bool = False,
            memo: dict[int, Any] | None = None) -> Any:
    """``tree`` with every ``leaf`` value ``v`` replaced by ``fn(v)``, in place.

    Lists, dicts, sets, deques and records are updated in place (their identity is
    kept); tuples and frozensets that change are rebuilt (a named tuple as its own
    type). A set's item is replaced by discarding it and adding its replacement, an
    equal value (a lazy value's own): the replacement takes the freed slot, so the set
    iterates in the same order as before (re-adding every item to a cleared set would
    not, once two of them collided). Returns the (possibly rebuilt) tree.

    Example:
        >>> data = [1, (2, "x")]
        >>> replace(data, lambda n: n * 10, int)
        [10, (20, 'x')]
        >>> data
        [10, (20, 'x')]
    """
    if type(tree) is leaf:
        return fn(tree)
    kind = kind_of(tree)
    if kind is Kind.ATOM or kind is Kind.OPAQUE or (kind is Kind.RECORD and not records):
        return tree
    memo = {} if memo is None else memo
    key = id(tree)
    if key in memo:
        return memo[key]
    memo[key] = tree  # a cycle back to a tuple keeps the old tuple: rare and harmless

    def sub(item: Any) -> Any:
        return replace(item, fn, leaf, records=records, memo=memo)

    if kind is Kind.LIST or kind is Kind.DEQUE:
        for index, item in enumerate(list(tree)):
            new = sub(item)
            if new is not item:
                tree[index] = new
    elif kind is Kind.DICT:
        pairs = list(tree.items())
        new_pairs = [(sub(k), sub(v)) for k, v in pairs]
        if any(nk is not k for (k, _), (nk, _) in zip(pairs, new_pairs)):
            # A key changed: rebuild, keeping the insertion order. Item by item: a
            # subclass's update may mean something else (Counter.update adds counts).
            tree.clear()
            for k, v in new_pairs:
                tree[k] = v
        else:
            for (k, v), (_, nv) in zip(pairs, new_pairs):
                if nv is not v:
                    tree[k] = nv
    elif kind is Kind.SET:
        for item in list(tree):
            new = sub(item)
            if new is not item:  # an equal value (same hash): it takes the item's slot
                set.discard(tree, item)
                set.add(tree, new)
    elif kind in (Kind.TUPLE, Kind.NAMEDTUPLE, Kind.FROZENSET):
        items = list(tree)
        new_items = [sub(item) for item in items]
        if any(n is not o for n, o in zip(new_items, items)):
            exact = type(tree) is frozenset  # a set's order: see frozen_in_slots
            tree = frozen_in_slots(tree, new_items) if exact else rebuild(tree, kind, new_items)
            memo[key] = tree
    elif kind is Kind.RECORD:
        for name, item in record_items(tree):
            new = sub(item)
            if new is not item:
                set_attribute(tree, name, new)
    return tree


def map_tree(tree: Any, fn: Callable[[Any], Any], leaf: type, *, share: bool = False,
             record: Callable[[Any], Any] | None = None) -> Any:
    """A copy of ``tree`` (lists, tuples, dicts, sets) with ``leaf`` values mapped by ``fn``.

    Unlike ``replace`` it never mutates. Used to turn argument trees into IR trees
    (tasks into variables) and back. With ``share``, a container holding no ``leaf`` is
    kept as it is instead of copied (an effect op's arguments: the caller's own
    objects). Records are kept as they are; with ``record``, one holding a ``leaf`` is
    replaced by ``record(it)``.

    Example:
        >>> map_tree({"a": [1, 2]}, lambda n: -n, int)
        {'a': [-1, -2]}
        >>> kept = ["x"]
        >>> map_tree((kept, 1), lambda n: -n, int, share=True)[0] is kept
        True
    """
    cls = type(tree)
    if cls is leaf:
        return fn(tree)
    if cls is SetInOrder or cls is FrozensetInOrder:  # a snapshot's: it held lazy values
        return _in_order(tree, lambda item: map_tree(item, fn, leaf, share=share, record=record))
    if cls is tuple and record is None:  # the argument tuple of every call: the short way
        changed = not share  # without share, always a new tuple
        items = []
        for item in tree:
            item_type = type(item)
            if item_type is leaf:
                item, changed = fn(item), True
            elif item_type not in ATOMS:
                new = map_tree(item, fn, leaf, share=share)
                changed = changed or new is not item
                item = new
            items.append(item)
        return tuple(items) if changed else tree
    if share and (cls in ATOMS or not contains(tree, leaf, records=record is not None)):
        return tree

    def sub(item: Any) -> Any:
        return map_tree(item, fn, leaf, share=share, record=record)

    kind = kind_of(tree)
    if cls is set:
        items = [sub(item) for item in tree]
        if all(new is old for new, old in zip(items, tree)):
            return set.copy(tree)  # its slots as they are: it iterates in the same order
        return set(items)
    if kind is Kind.LIST:
        return _same_type(tree, [sub(item) for item in tree])
    if kind is Kind.DEQUE:
        return _same_type(tree, collections.deque((sub(item) for item in tree), tree.maxlen))
    if kind is Kind.DICT:
        return _same_type(tree, {sub(key): sub(item) for key, item in tree.items()})
    if kind in (Kind.TUPLE, Kind.NAMEDTUPLE, Kind.FROZENSET, Kind.SET):
        items = [sub(item) for item in tree]
        if kind is Kind.SET:
            return _same_type(tree, set(items))
        return rebuild(tree, kind, items)
    if kind is Kind.RECORD and record is not None and contains(tree, leaf, records=True):
        return record(tree)
    return tree


def _in_order(copy: SetInOrder | FrozensetInOrder, sub: Callable[[Any], Any]
              ) -> set[Any] | frozenset[Any]:
    """The set a ``SetInOrder`` stands for, its stand-ins mapped by ``sub``: it
    iterates in the order of the set it copied.

    It starts as a copy of the slots; each item that changes is discarded and its
    replacement added, an equal value with the same hash: it takes the freed slot.
    """
    built = set.copy(copy.layout)
    values: dict[int, Any] = {}
    for old, new in copy.pairs:
        value = values[id(old)] = sub(new)
        if value is not old:
            set.discard(built, old)
            set.add(built, value)
    order = [values.get(id(item), item) for item in copy.order]
    if type(copy) is FrozensetInOrder:
        return in_order(frozenset(built), order, frozen=True)  # type: ignore[no-any-return]
    return in_order(built, order, copy.size)  # type: ignore[no-any-return]


def _same_type(original: Any, built: Any) -> Any:
    """``built`` (a list, dict, set or deque) as an object of ``original``'s own subclass,
    if it has one."""
    if type(original) is type(built):
        return built
    try:
        same = copy.copy(original)  # OrderedDict, defaultdict (its factory), user subclasses
        same.clear()
        if isinstance(built, dict):
            for key, value in built.items():  # not update: Counter's adds counts
                same[key] = value
        elif isinstance(built, set):
            set.update(same, built)
        elif isinstance(built, collections.deque):
            collections.deque.extend(same, built)
        else:
            list.extend(same, built)
    except Exception:  # a subclass that cannot be copied or refilled: keep the base type
        return built
    return same
