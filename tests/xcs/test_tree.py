"""The value walker: every walker agrees on what is inside a value, and copies what it must."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from ember.xcs import tree


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


def plain(value: Any) -> Any:
    """``value`` with every ``Leaf`` as ``("leaf", n)`` and every container as a list/dict."""
    if isinstance(value, Leaf):
        return f"leaf:{value.n}"
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, collections.deque)):
        return [type(value).__name__, *(plain(item) for item in value)]
    return value


def in_order(value: Any) -> list[Leaf]:
    if isinstance(value, Leaf):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in in_order(item)]
    if isinstance(value, (list, tuple, collections.deque)):
        return [leaf for item in value for leaf in in_order(item)]
    return []


@given(trees)
def test_snapshot_converts_every_leaf_in_order_and_keeps_the_structure(value: Any) -> None:
    found: list[Any] = []
    held: list[Any] = []
    copied = tree.snapshot(value, Leaf, lambda leaf: f"leaf:{leaf.n}", found, held)
    assert found == in_order(value)
    assert held == []
    expected = plain(value)
    assert plain(copied) == expected


@given(trees)
def test_snapshot_shares_nothing_mutable_with_the_original(value: Any) -> None:
    copied = tree.snapshot(value, Leaf, lambda leaf: leaf, [], [])

    def mutables(v: Any) -> list[int]:
        found = [id(v)] if isinstance(v, (list, dict, collections.deque)) else []
        children = v.values() if isinstance(v, dict) else \
            v if isinstance(v, (list, tuple, collections.deque)) else ()
        return found + [i for child in children for i in mutables(child)]

    assert not set(mutables(value)) & set(mutables(copied))


def test_snapshot_of_an_argument_tuple_without_leaves_is_the_tuple_itself() -> None:
    args = (1, "a", (2, None), Pair(3, 4))
    assert tree.snapshot(args, Leaf, lambda leaf: leaf, [], []) is args


def test_snapshot_keeps_shared_containers_shared_and_survives_cycles() -> None:
    shared = [Leaf(1)]
    cyclic: list[Any] = [Leaf(2)]
    cyclic.append(cyclic)
    found: list[Any] = []
    copied = tree.snapshot((shared, shared, cyclic), Leaf, lambda leaf: leaf.n, found, [])
    assert copied[0] is copied[1] and copied[0] == [1]
    assert copied[2][0] == 2 and copied[2][1] is copied[2]
    assert [leaf.n for leaf in found] == [1, 2]


def test_snapshot_searches_records_but_does_not_copy_them() -> None:
    box = Box(Leaf(7))
    found: list[Any] = []
    held: list[Any] = []
    copied = tree.snapshot((box,), Leaf, lambda leaf: leaf, found, held)
    assert copied[0] is box
    assert found == [] and [leaf.n for leaf in held] == [7]


@given(trees)
def test_map_tree_maps_every_leaf_and_never_mutates(value: Any) -> None:
    before = plain(value)
    mapped = tree.map_tree(value, lambda leaf: f"mapped:{leaf.n}", Leaf)
    assert plain(value) == before

    def expect(v: Any) -> Any:
        if isinstance(v, Leaf):
            return f"mapped:{v.n}"
        if isinstance(v, dict):
            return {key: expect(item) for key, item in v.items()}
        if isinstance(v, (list, tuple, collections.deque)):
            return [type(v).__name__, *(expect(item) for item in v)]
        return v

    assert plain(mapped) == expect(value)


@given(trees)
def test_replace_resolves_every_leaf_in_place_where_the_container_is_mutable(value: Any) -> None:
    expected = plain(tree.map_tree(value, lambda leaf: f"done:{leaf.n}", Leaf))
    replaced = tree.replace(value, lambda leaf: f"done:{leaf.n}", Leaf)
    assert plain(replaced) == expected
    if isinstance(value, (list, dict, collections.deque)):
        assert replaced is value  # mutable roots are changed in place
        assert in_order(value) == []


@given(trees)
def test_leaves_and_contains_agree_with_a_plain_walk(value: Any) -> None:
    assert tree.leaves(value, Leaf) == in_order(value)
    assert tree.contains(value, Leaf) == bool(in_order(value))
