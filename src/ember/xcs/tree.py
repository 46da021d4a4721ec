"""The one way XCS looks inside values: lists, tuples, dicts, sets, dataclasses, objects.

Every walker in XCS goes through here: finding the lazy values an op call depends on,
snapshotting op arguments, resolving them before a body runs, materialising a call's
result, repairing containers a lazy value escaped into, converting argument trees to
IR variables, shipping values to Dask. One table says how each type is walked, so the
walkers cannot disagree about what counts as "inside".

Kinds of node (decided once per type, cached):

- atoms (``str``, ``int``, ``None``, ...): never hold anything;
- containers: ``list``, ``dict``, ``set``, ``frozenset``, ``tuple`` (named too),
  ``collections.deque`` and their subclasses;
- records: dataclass instances, ``types.SimpleNamespace`` and instances of classes
  defined in user code (their ``__dict__`` and ``__slots__``). Records are walked only
  when a walker asks for ``records=True``;
- opaque: everything else (modules, functions, classes, library objects).

Mutable containers are updated in place by ``replace``; immutable ones (tuples,
frozensets) are rebuilt. ``snapshot`` copies the container structure so that a value
captured now does not change when the program mutates the original later.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import os
import sysconfig
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "ATOMS",
    "Kind",
    "contains",
    "kind_of",
    "leaves",
    "map_tree",
    "replace",
    "snapshot",
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
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # ember itself
)
_kinds: dict[type, Kind] = {t: Kind.ATOM for t in ATOMS}
_kinds_lock = threading.Lock()  # guards _kinds (writes only; reads of a dict are atomic)


def _user_class(cls: type) -> bool:
    """Whether ``cls`` comes from user code (not Ember, the standard library or site-packages)."""
    module = getattr(cls, "__module__", None)
    if module in (None, "builtins"):
        return False
    import sys

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
    if dataclasses.is_dataclass(cls) or cls is types.SimpleNamespace:
        return Kind.RECORD
    if issubclass(cls, type | types.ModuleType | types.FunctionType | types.MethodType
                  | types.BuiltinFunctionType | types.CodeType | types.FrameType):
        return Kind.OPAQUE
    if _user_class(cls) or _is_pydantic(cls):
        return Kind.RECORD
    return Kind.OPAQUE


def _is_pydantic(cls: type) -> bool:
    return any(base.__module__.startswith("pydantic") and base.__name__ == "BaseModel"
               for base in cls.__mro__)


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


def _record_items(value: Any) -> Iterator[tuple[str, Any]]:
    """The attributes of a record: its ``__dict__`` and ``__slots__`` values."""
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        yield from list(attributes.items())
    for cls in type(value).__mro__:
        for name in cls.__dict__.get("__slots__", ()):
            if name in ("__dict__", "__weakref__"):
                continue
            try:
                yield name, object.__getattribute__(value, name)
            except AttributeError:
                continue


def _set_attribute(value: Any, name: str, new: Any) -> None:
    attributes = getattr(value, "__dict__", None)
    if attributes is not None and name in attributes:
        attributes[name] = new  # also right for frozen dataclasses and pydantic models
    else:
        object.__setattr__(value, name, new)


def _children(value: Any, kind: Kind) -> Iterator[Any]:
    if kind in (Kind.LIST, Kind.TUPLE, Kind.NAMEDTUPLE, Kind.SET, Kind.FROZENSET, Kind.DEQUE):
        yield from list(value)
    elif kind is Kind.DICT:
        for key, item in list(value.items()):
            yield key
            yield item
    elif kind is Kind.RECORD:
        for _, item in _record_items(value):
            yield item


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
    found: list[Any] = []
    if type(tree) in ATOMS and leaf not in ATOMS:
        return found
    seen: set[int] = set()
    stack = [tree]
    while stack:
        value = stack.pop()
        if type(value) is leaf:
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
        children = list(_children(value, kind))
        children.reverse()
        stack.extend(children)
    return found


def replace(tree: Any, fn: Callable[[Any], Any], leaf: type, *, records: bool = False,
            memo: dict[int, Any] | None = None) -> Any:
    """``tree`` with every ``leaf`` value ``v`` replaced by ``fn(v)``, in place.

    Lists, dicts, sets, deques and records are updated in place (their identity is
    kept); tuples and frozensets that change are rebuilt (a named tuple as its own
    type). Returns the (possibly rebuilt) tree.

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
            tree.clear()  # a key changed: rebuild, keeping the insertion order
            tree.update(new_pairs)
        else:
            for (k, v), (_, nv) in zip(pairs, new_pairs):
                if nv is not v:
                    tree[k] = nv
    elif kind is Kind.SET:
        items = list(tree)
        new_items = [sub(item) for item in items]
        if any(n is not o for n, o in zip(new_items, items)):
            tree.clear()
            tree.update(new_items)
    elif kind in (Kind.TUPLE, Kind.NAMEDTUPLE, Kind.FROZENSET):
        items = list(tree)
        new_items = [sub(item) for item in items]
        if any(n is not o for n, o in zip(new_items, items)):
            tree = _rebuild(tree, kind, new_items)
            memo[key] = tree
    elif kind is Kind.RECORD:
        for name, item in _record_items(tree):
            new = sub(item)
            if new is not item:
                _set_attribute(tree, name, new)
    return tree


def _rebuild(value: Any, kind: Kind, items: list[Any]) -> Any:
    cls = type(value)
    if kind is Kind.NAMEDTUPLE:
        return cls._make(items)
    if cls is tuple or cls is frozenset:
        return cls(items)
    try:
        return cls(items)
    except TypeError:  # a subclass with another constructor: keep the base type
        return (tuple if kind is not Kind.FROZENSET else frozenset)(items)


def snapshot(tree: Any, leaf: type, convert: Callable[[Any], Any], found: list[Any],
             held: list[Any]) -> Any:
    """A copy of ``tree``'s container structure with ``leaf`` values converted.

    Lists, dicts, sets and deques are copied (so later mutations of the original do
    not show); atoms and opaque objects are shared. Every converted leaf is appended
    to ``found``. Records are shared too, but searched: ``leaf`` values inside them are
    appended to ``held``, unconverted (the caller resolves them in place later).

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
                new = _snapshot(item, leaf, convert, found, held, memo)
                changed = changed or new is not item
                items.append(new)
        return tuple(items) if changed else tree
    return _snapshot(tree, leaf, convert, found, held, {})


def _snapshot(tree: Any, leaf: type, convert: Callable[[Any], Any], found: list[Any],
              held: list[Any], memo: dict[int, Any]) -> Any:
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
        copy.extend([_snapshot(item, leaf, convert, found, held, memo) for item in tree])
        if type(tree) is not list:
            copy.__dict__.update(getattr(tree, "__dict__", {}))
        return copy
    if kind is Kind.DICT:
        copy = _empty_like(tree)
        memo[key] = copy
        for k, v in list(tree.items()):
            copy[_snapshot(k, leaf, convert, found, held, memo)] = _snapshot(
                v, leaf, convert, found, held, memo)
        return copy
    if kind is Kind.DEQUE:
        copy = collections.deque(maxlen=tree.maxlen)
        memo[key] = copy
        copy.extend([_snapshot(item, leaf, convert, found, held, memo) for item in tree])
        return copy
    items = [_snapshot(item, leaf, convert, found, held, memo) for item in tree]
    if kind is Kind.SET:
        copy = _empty_like(tree)
        copy.update(items)
        memo[key] = copy
        return copy
    if all(new is old for new, old in zip(items, tree)):
        memo[key] = tree
        return tree
    rebuilt = _rebuild(tree, kind, items)
    memo[key] = rebuilt
    return rebuilt


def _empty_like(container: Any) -> Any:
    cls = type(container)
    if cls is dict or cls is set:
        return cls()
    import copy as copy_module

    empty = copy_module.copy(container)  # keeps defaultdict factories, OrderedDict type...
    empty.clear()
    return empty


def map_tree(tree: Any, fn: Callable[[Any], Any], leaf: type) -> Any:
    """A copy of ``tree`` (lists, tuples, dicts, sets) with ``leaf`` values mapped by ``fn``.

    Unlike ``replace`` it never mutates and does not enter records. Used to turn
    argument trees into IR trees (tasks into variables) and back.

    Example:
        >>> map_tree({"a": [1, 2]}, lambda n: -n, int)
        {'a': [-1, -2]}
    """
    cls = type(tree)
    if cls is leaf:
        return fn(tree)
    if cls is tuple:
        return tuple([fn(item) if type(item) is leaf else
                      item if type(item) in ATOMS else map_tree(item, fn, leaf)
                      for item in tree])
    kind = kind_of(tree)
    if kind is Kind.LIST:
        return [map_tree(item, fn, leaf) for item in tree]
    if kind is Kind.DEQUE:
        return collections.deque((map_tree(item, fn, leaf) for item in tree), tree.maxlen)
    if kind is Kind.DICT:
        return {key: map_tree(item, fn, leaf) for key, item in tree.items()}
    if kind in (Kind.TUPLE, Kind.NAMEDTUPLE, Kind.FROZENSET, Kind.SET):
        items = [map_tree(item, fn, leaf) for item in tree]
        if kind is Kind.SET:
            return set(items)
        return _rebuild(tree, kind, items)
    return tree
