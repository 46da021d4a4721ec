"""Values for the tree tests: a leaf type standing for lazy values, containers, records."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, NamedTuple

from hypothesis import strategies as st

__all__ = ["Box", "Leaf", "Pair", "in_order", "plain", "trees"]


class Leaf:
    """Stands for a lazy value: the kind of leaf the tracer looks for."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Leaf({self.n})"


class Pair(NamedTuple):
    left: Any
    right: Any


@dataclasses.dataclass
class Box:
    item: Any


atoms = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.booleans())
leaves_ = st.integers(0, 99).map(Leaf)
trees = st.recursive(
    st.one_of(atoms, leaves_),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=2), inner, max_size=3),
        st.tuples(inner, inner).map(lambda t: Pair(*t)),
        st.lists(inner, max_size=3).map(collections.deque),
    ),
    max_leaves=12,
)


def plain(value: Any, mark: str = "leaf") -> Any:
    """``value`` with every ``Leaf`` as ``"{mark}:{n}"`` and every container as a list/dict."""
    if isinstance(value, Leaf):
        return f"{mark}:{value.n}"
    if isinstance(value, dict):
        return {key: plain(item, mark) for key, item in value.items()}
    if isinstance(value, (list, tuple, collections.deque)):
        return [type(value).__name__, *(plain(item, mark) for item in value)]
    return value


def in_order(value: Any) -> list[Leaf]:
    if isinstance(value, Leaf):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in in_order(item)]
    if isinstance(value, (list, tuple, collections.deque)):
        return [leaf for item in value for leaf in in_order(item)]
    return []
