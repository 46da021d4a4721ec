"""The type table: which kind each type is, and what is inside a value of each kind."""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import types
from typing import Any

import pydantic
import pytest

from ember.models.registry import ProviderRegistry
from ember.xcs import op
from ember.xcs.tree.kinds import (
    Kind,
    children,
    kind_of,
    rebuild,
    record_items,
    set_attribute,
)
from tests.xcs.tree.values import Box, Pair


class Color(enum.Enum):
    RED = 1


class Plain:
    """A class from user code (this test module): a record."""

    def __init__(self) -> None:
        self.a = 1


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self) -> None:
        self.left = 1  # ``right`` stays unset: it has no value to walk


class Model(pydantic.BaseModel):
    text: str


@dataclasses.dataclass(frozen=True)
class Frozen:
    item: Any


class Items(list[Any]):
    pass


@pytest.mark.parametrize(("value", "kind"), [
    ("text", Kind.ATOM),
    (3, Kind.ATOM),
    (None, Kind.ATOM),
    (Color.RED, Kind.ATOM),
    ([1], Kind.LIST),
    (Items(), Kind.LIST),
    ({"a": 1}, Kind.DICT),
    (collections.OrderedDict(), Kind.DICT),
    ((1, 2), Kind.TUPLE),
    (Pair(1, 2), Kind.NAMEDTUPLE),
    ({1}, Kind.SET),
    (frozenset({1}), Kind.FROZENSET),
    (collections.deque([1]), Kind.DEQUE),
    (Box(1), Kind.RECORD),
    (types.SimpleNamespace(a=1), Kind.RECORD),
    (Plain(), Kind.RECORD),
    (Model(text="hi"), Kind.RECORD),
    (json, Kind.OPAQUE),
    (len, Kind.OPAQUE),
    (Plain, Kind.OPAQUE),
    (lambda: None, Kind.OPAQUE),
    (json.JSONDecoder(), Kind.OPAQUE),  # a standard-library object
])
def test_each_type_has_the_kind_the_package_docstring_gives(value: Any, kind: Kind) -> None:
    assert kind_of(value) is kind


def test_objects_of_ember_itself_are_opaque_wherever_in_ember_they_are_defined() -> None:
    # Ember's own classes are library code, not user records, also outside ember.xcs.
    assert kind_of(ProviderRegistry()) is Kind.OPAQUE
    assert kind_of(op(lambda x: x)) is Kind.OPAQUE


def test_children_lists_items_dict_keys_and_values_and_record_attributes() -> None:
    assert list(children([1, 2], Kind.LIST)) == [1, 2]
    assert list(children({"k": "v"}, Kind.DICT)) == ["k", "v"]
    assert list(children(Box(5), Kind.RECORD)) == [5]
    assert list(children("text", Kind.ATOM)) == []


def test_record_items_reads_the_dict_and_the_slots_that_are_set() -> None:
    assert list(record_items(Plain())) == [("a", 1)]
    assert list(record_items(Slotted())) == [("left", 1)]


def test_set_attribute_changes_frozen_dataclasses_and_slots_in_place() -> None:
    frozen = Frozen(1)
    set_attribute(frozen, "item", 2)
    assert frozen.item == 2
    slotted = Slotted()
    set_attribute(slotted, "right", 3)
    assert slotted.right == 3


def test_rebuild_keeps_the_type_of_tuples_and_named_tuples() -> None:
    assert rebuild((1, 2), Kind.TUPLE, [3, 4]) == (3, 4)
    rebuilt = rebuild(Pair(1, 2), Kind.NAMEDTUPLE, [3, 4])
    assert type(rebuilt) is Pair and rebuilt == Pair(3, 4)
    assert rebuild(frozenset({1}), Kind.FROZENSET, [2]) == frozenset({2})
