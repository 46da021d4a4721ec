"""How XCS walks each type: the one table every tree walker consults.

``kind_of`` decides once per type (and caches) which ``Kind`` a value is: an atom,
one of the containers, a record (dataclass, ``SimpleNamespace``, pydantic model, the
standard library's ``UserDict``, ``UserList``, ``ChainMap`` and ``argparse.Namespace``,
or an instance of a class from user code), or opaque. The helpers below say what is inside
a value of each kind (``children``, ``record_items``), how to change an attribute of a
record in place (``set_attribute``) and how to rebuild an immutable container
(``rebuild``); the walkers in ``walk`` and ``snapshots`` are written on top of them.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import itertools
import math
import os
import sys
import sysconfig
import threading
import types
from collections.abc import Iterator
from typing import Any

__all__ = [
    "ATOMS",
    "FrozensetInOrder",
    "Kind",
    "SetInOrder",
    "children",
    "data_record",
    "frozen_in_slots",
    "hashed_plainly",
    "in_order",
    "kind_of",
    "rebuild",
    "record_items",
    "set_attribute",
    "slot_names",
]

ATOMS: frozenset[type] = frozenset(
    {str, bytes, int, float, bool, complex, type(None), range, slice, type(Ellipsis)}
)


class Kind(enum.IntEnum):
    """How a type is walked."""

    ATOM = 0
    LIST = 1
    DICT = 2
    TUPLE = 3
    NAMEDTUPLE = 4
    SET = 5
    FROZENSET = 6
    DEQUE = 7
    RECORD = 8
    OPAQUE = 9


_LIBRARY_DIRS = (
    *{
        os.path.abspath(path) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    },
    # Ember itself: this file is ember/xcs/tree/kinds.py.
    os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)) + os.sep,
)


class SetInOrder(set[Any]):
    """A snapshot's copy of a set (or frozenset) an item of which holds a lazy value.

    A set iterates in the order of its slots, which follow from its items' hashes and
    from its history, so a set built again from the same items may iterate in another
    order (``{1, 3, 11}`` added in that order iterates as ``[11, 1, 3]``;
    ``set([11, 1, 3])`` as ``[3, 1, 11]``). This copy holds the tasks standing in
    for the values (hashed by identity: it iterates in no useful order), and besides
    them ``layout``, a copy of the set's slots as they are (the lazy values in place),
    and ``pairs``, each item that holds a lazy value with its stand-in. The set the op
    receives is ``layout`` with each such item swapped, in its own slot, for the value
    (``walk.map_tree``): it iterates as the caller's set does.
    """

    __slots__ = ("layout", "order", "pairs", "size")
    layout: set[Any]
    order: list[Any]
    pairs: list[tuple[Any, Any]]
    size: int  # sys.getsizeof of the set copied: the size of its table


class FrozensetInOrder(frozenset[Any]):
    """``SetInOrder`` for a frozenset (hashable, as the frozenset it copies: it may be
    a dict key or an item of a set)."""

    __slots__ = ("layout", "order", "pairs", "size")
    layout: set[Any]
    order: list[Any]
    pairs: list[tuple[Any, Any]]
    size: int


def in_order(built: Any, order: list[Any], size: int = 0, *, frozen: bool = False) -> Any:
    """``built`` (a set, or a frozenset if ``frozen``), or one of the same items that
    iterates in ``order`` if ``built`` does not.

    A set iterates in the order of its slots, so a copy iterates as the set did only
    if it has a table of the same size and the items sit in the same slots. A set
    made from a set is sized for its items where one grown an item at a time has a
    larger table (a set of five items added one by one has 32 slots, its copy 16), and
    items taken out (``s -= {x}``) leave marks that a copy does not keep. So the items
    are added one by one, in an order that repeats the set's (every order, for a small
    set), and if that does not, into a set of the table's ``size`` (what
    ``sys.getsizeof`` gave for the set copied).

    Example:
        >>> tags = {5, 13, 3} | {12}
        >>> tags -= {3}
        >>> list(in_order(set.copy(tags), list(tags))) == list(tags)
        True
    """
    if _iterates(built, order):
        return built
    if not all(map(hashed_plainly, order)):
        return built  # adding them again would run the user's __hash__ (and __eq__)
    make = frozenset if frozen else set
    # The search costs up to a set per order tried (an op called 1,000 times with
    # the same set searched 1,000 times): what it found is kept per set, by its items'
    # identities, and checked again when used. A larger set has two orders to try,
    # and its key would hold an int per item (256 sets of 100,000: 800 MB).
    key = (frozen, size, *map(id, order)) if len(order) <= _ROTATED else ()
    found = _found.get(key, _UNKNOWN)
    if found is None:
        return built  # no order repeats it
    if found is not _UNKNOWN:
        start, grow = found
        added = _order_at(order, start)
        again = _grown(added, size) if grow else make(added)
        if again is not None and _iterates(again, order):
            return again
    tries = _orders(order)
    for start, added in enumerate(tries):
        again = make(added)
        if _iterates(again, order):
            return _keep(key, (start, False), again)
    for start, added in enumerate(tries if size and not frozen else ()):
        grown = _grown(added, size)
        if grown is not None and _iterates(grown, order):
            return _keep(key, (start, True), grown)
    return _keep(key, None, built)


_UNKNOWN: Any = object()
_found: dict[tuple[Any, ...], tuple[int, bool] | None] = {}  # in_order's, by set


def _keep(key: tuple[Any, ...], found: tuple[int, bool] | None, result: Any) -> Any:
    if not key:
        return result
    if len(_found) >= 256:
        _found.clear()
    _found[key] = found
    return result


def hashed_plainly(item: Any) -> bool:
    """Whether hashing ``item`` runs no code of the user's: an atom, or a tuple or
    frozenset of such items."""
    kind = type(item)
    if kind in ATOMS:
        return True
    return (kind is tuple or kind is frozenset) and all(map(hashed_plainly, item))


def _orders(order: list[Any]) -> list[Any]:
    """The orders to add a set's items in to repeat its order: every order of a small
    set; else its own order, starting at each item (one that collided near the end of
    the table went on at its start, after the items there)."""
    if len(order) <= _PERMUTED:
        return list(itertools.permutations(order))
    if len(order) <= _ROTATED:
        return [order[start:] + order[:start] for start in range(len(order))]
    return [order]


def _order_at(order: list[Any], start: int) -> list[Any]:
    """``_orders(order)[start]``, built alone (a hit in ``_found`` makes no other).

    Example:
        >>> all(_order_at([1, 2, 3, 4], n) == list(p)
        ...     for n, p in enumerate(_orders([1, 2, 3, 4])))
        True
    """
    if len(order) > _PERMUTED:
        return order[start:] + order[:start]
    left, added = list(order), []
    for place in range(len(order) - 1, -1, -1):  # permutations' order, by its index
        pick, start = divmod(start, math.factorial(place))
        added.append(left.pop(pick))
    return added


def _iterates(items: Any, order: list[Any]) -> bool:
    return len(items) == len(order) and all(a is b for a, b in zip(items, order))


def _grown(items: tuple[Any, ...] | list[Any], size: int) -> set[Any] | None:
    """A set of ``items`` added one by one to a table of ``size`` (``sys.getsizeof``),
    grown with fillers first: taking them out again does not shrink it."""
    grown: set[Any] = set()
    fillers = []
    while sys.getsizeof(grown) < size:
        fillers.append(object())
        grown.add(fillers[-1])
    for filler in fillers:
        grown.discard(filler)
    for item in items:
        grown.add(item)
    return grown if sys.getsizeof(grown) == size else None


_PERMUTED = 5  # at most 120 orders to add a set's items in
_ROTATED = 64  # a larger set is added in its own order only


def frozen_in_slots(original: frozenset[Any], new_items: list[Any]) -> frozenset[Any]:
    """``original`` with its items (in its order) swapped for ``new_items``, equal
    values with the same hashes, each in its own slot: made again from the list, it may
    iterate in another order than the one plain Python built.

    Example:
        >>> tags = frozenset([1, 3, 11])
        >>> list(frozen_in_slots(tags, [item * 1.0 for item in tags])) == list(tags)
        True
    """
    built = set(original)  # a set made from a frozenset copies its slots, and back
    for old, new in zip(original, new_items):
        if new is not old:
            built.discard(old)
            built.add(new)
    return in_order(frozenset(built), new_items, frozen=True)  # type: ignore[no-any-return]


_kinds: dict[type, Kind] = {t: Kind.ATOM for t in ATOMS}
_kinds_lock = threading.Lock()  # guards _kinds (writes only; reads of a dict are atomic)


def _user_class(cls: type) -> bool:
    """Whether ``cls`` comes from user code (not Ember, the standard library or site-packages)."""
    module = getattr(cls, "__module__", None)
    if module in (None, "builtins"):
        return False
    file = getattr(sys.modules.get(module), "__file__", None)
    if file is None:
        return bool(module == "__main__" or module.startswith("__"))  # notebooks, exec'd code
    return not os.path.abspath(file).startswith(_LIBRARY_DIRS)


def _classify(cls: type) -> Kind:
    if issubclass(cls, enum.Enum):
        return Kind.ATOM
    if issubclass(cls, list):
        return Kind.LIST
    if issubclass(cls, dict):
        return Kind.DICT
    if issubclass(cls, tuple):
        return Kind.NAMEDTUPLE if hasattr(cls, "_fields") else Kind.TUPLE
    if issubclass(cls, frozenset):
        return Kind.FROZENSET
    if issubclass(cls, set):
        return Kind.SET
    if issubclass(cls, collections.deque):
        return Kind.DEQUE
    if data_record(cls):
        return Kind.RECORD
    if issubclass(cls, type | types.ModuleType | types.FunctionType | types.MethodType
                  | types.BuiltinFunctionType | types.CodeType | types.FrameType):
        return Kind.OPAQUE
    return Kind.RECORD if _user_class(cls) else Kind.OPAQUE


# Library classes whose objects hold the user's data in attributes (a ``UserDict``'s
# ``data``, a ``ChainMap``'s ``maps``): walked, held and resolved like records.
_LIBRARY_RECORDS = frozenset({("collections", "UserDict"), ("collections", "UserList"),
                              ("collections", "ChainMap"), ("argparse", "Namespace"),
                              ("pydantic.main", "BaseModel"), ("pydantic.v1.main", "BaseModel")})


def data_record(cls: type) -> bool:
    """Whether ``cls``'s objects are records for what they are, not for coming from the
    user's code: dataclasses, ``SimpleNamespace``, pydantic models, and the standard
    library's ``UserDict``, ``UserList``, ``ChainMap`` and ``argparse.Namespace``.

    Example:
        >>> import argparse
        >>> data_record(argparse.Namespace), data_record(dict)
        (True, False)
    """
    return dataclasses.is_dataclass(cls) or cls is types.SimpleNamespace or any(
        (base.__module__, base.__qualname__) in _LIBRARY_RECORDS for base in cls.__mro__)


def kind_of(value: Any) -> Kind:
    """How ``value`` is walked (see the module docstring)."""
    cls = type(value)
    kind = _kinds.get(cls)
    if kind is None:
        kind = _classify(cls)
        with _kinds_lock:
            if len(_kinds) > 4096:
                _kinds.clear()
                _kinds.update({t: Kind.ATOM for t in ATOMS})
            _kinds[cls] = kind
    return kind


def record_items(value: Any) -> Iterator[tuple[str, Any]]:
    """The attributes of a record: its ``__dict__`` and ``__slots__`` values."""
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        yield from list(attributes.items())
    for name in slot_names(type(value)):
        try:
            yield name, object.__getattribute__(value, name)
        except AttributeError:  # declared, not set
            continue


def slot_names(kind: type) -> list[str]:
    """The attributes ``kind`` and its bases declare in ``__slots__``, by the names they
    are stored under: a str ``__slots__`` is one name, ``__x`` of class ``C`` is
    ``_C__x``; ``__dict__`` and ``__weakref__`` are none.

    Example:
        >>> class Box:
        ...     __slots__ = "content"
        >>> class Sealed(Box):
        ...     __slots__ = ("__key", "__weakref__")
        >>> slot_names(Sealed)
        ['_Sealed__key', 'content']
    """
    names: list[str] = []
    for cls in kind.__mro__:
        declared = cls.__dict__.get("__slots__", ())
        for name in (declared,) if isinstance(declared, str) else declared:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{cls.__name__.lstrip('_')}{name}"
            if name not in names:
                names.append(name)
    return names


def set_attribute(value: Any, name: str, new: Any) -> None:
    attributes = getattr(value, "__dict__", None)
    if attributes is not None and name in attributes:
        attributes[name] = new  # also right for frozen dataclasses and pydantic models
    else:
        object.__setattr__(value, name, new)


def children(value: Any, kind: Kind) -> Iterator[Any]:
    if kind in (Kind.LIST, Kind.TUPLE, Kind.NAMEDTUPLE, Kind.SET, Kind.FROZENSET, Kind.DEQUE):
        yield from list(value)
    elif kind is Kind.DICT:
        for key, item in list(value.items()):
            yield key
            yield item
    elif kind is Kind.RECORD:
        for _, item in record_items(value):
            yield item


def rebuild(value: Any, kind: Kind, items: list[Any]) -> Any:
    cls = type(value)
    if kind is Kind.NAMEDTUPLE:
        return cls._make(items)
    if cls is tuple or cls is frozenset:
        return cls(items)
    try:
        return cls(items)
    except TypeError:  # a subclass with another constructor: keep the base type
        return (tuple if kind is not Kind.FROZENSET else frozenset)(items)
