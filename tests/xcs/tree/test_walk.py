"""The walkers agree with a plain recursive walk on what is inside a value."""

from __future__ import annotations

import collections
from typing import Any

from hypothesis import given

from ember.xcs import tree
from tests.xcs.tree.values import Leaf, in_order, plain, trees


@given(trees)
def test_map_tree_maps_every_leaf_and_never_mutates(value: Any) -> None:
    before = plain(value)
    mapped = tree.map_tree(value, lambda leaf: f"mapped:{leaf.n}", Leaf)
    assert plain(value) == before
    assert plain(mapped) == plain(value, mark="mapped")


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


@given(trees)
def test_map_tree_with_share_copies_only_the_containers_holding_a_leaf(value: Any) -> None:
    mapped = tree.map_tree(value, lambda leaf: f"mapped:{leaf.n}", Leaf, share=True)
    assert plain(mapped) == plain(value, mark="mapped")
    if not in_order(value):
        assert mapped is value


class _Tags(set):
    pass


class _History(collections.deque):
    pass


def test_map_tree_keeps_the_class_of_every_container() -> None:
    counts = collections.Counter("aab")
    factory = collections.defaultdict(list, {"k": [1]})
    tags, history = _Tags({"a"}), _History([1, 2], maxlen=3)
    mapped = tree.map_tree([counts, factory, tags, history], str, Leaf)
    assert [type(value) for value in mapped] == [collections.Counter,
                                                 collections.defaultdict, _Tags, _History]
    assert mapped[0].most_common(1) == [("a", 2)] and mapped[1]["new"] == []
    assert mapped[2] == {"a"} and mapped[2] is not tags
    assert list(mapped[3]) == [1, 2] and mapped[3].maxlen == 3 and mapped[3] is not history


def test_map_tree_hands_records_holding_a_leaf_to_record() -> None:
    import types

    holding, plain_record = types.SimpleNamespace(x=Leaf(1)), types.SimpleNamespace(x=1)
    mapped = tree.map_tree([holding, plain_record], str, Leaf, record=lambda r: "rebuilt")
    assert mapped[0] == "rebuilt" and mapped[1] is plain_record
    assert tree.map_tree([holding], str, Leaf)[0] is holding  # without record: kept
