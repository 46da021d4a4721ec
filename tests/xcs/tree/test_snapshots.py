"""Snapshots copy the container structure of op arguments and convert their leaves."""

from __future__ import annotations

import collections
from typing import Any

from hypothesis import given

from ember.xcs import tree
from tests.xcs.tree.values import Box, Leaf, Pair, in_order, plain, trees


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
