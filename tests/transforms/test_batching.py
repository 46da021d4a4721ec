"""Splitting batches into per-item calls and combining per-item results."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from ember.xcs import TransformError
from ember.xcs.transforms.batching import adapt_inputs, combine, split_batch


def test_records_map_list_fields_and_broadcast_the_rest():
    options = {"format": "json"}
    calls = split_batch((), {"inputs": {"data": ["a", "b"], "id": [1, 2], "options": options}},
                        0, None, "vmap")
    assert [kwargs for _, kwargs in calls] == [
        {"inputs": {"data": "a", "id": 1, "options": options}},
        {"inputs": {"data": "b", "id": 2, "options": options}},
    ]
    assert calls[0][1]["inputs"]["options"] is options  # broadcast, not copied


def test_mismatched_lengths_name_fields_and_lengths():
    with pytest.raises(TransformError) as caught:
        split_batch((), {"inputs": {"data": ["a", "b", "c"], "id": [1, 2]}}, 0, None, "vmap")
    message = str(caught.value)
    assert "inputs['data'] has 3" in message
    assert "inputs['id'] has 2" in message


def test_positional_axes_and_arrays():
    matrix = np.arange(6).reshape(2, 3)
    calls = split_batch((["x", "y", "z"], matrix, "sep"), {}, (0, 1, None), None, "vmap")
    assert len(calls) == 3
    assert calls[1][0][0] == "y"
    np.testing.assert_array_equal(calls[1][0][1], matrix[:, 1])
    assert calls[2][0][2] == "sep"


def test_dict_prefix_in_axes_selects_fields():
    calls = split_batch(({"a": [1, 2], "b": [3, 4]},), {}, ({"a": 0, "b": None},), None, "vmap")
    assert [args[0] for args, _ in calls] == [{"a": 1, "b": [3, 4]}, {"a": 2, "b": [3, 4]}]


def test_unmappable_positional_argument_suggests_in_axes_none():
    with pytest.raises(TransformError, match="in_axes None"):
        split_batch((["a"], "suffix"), {}, 0, None, "vmap")


def test_axis_size_when_nothing_is_mapped():
    assert split_batch(("same",), {}, None, 3, "vmap") == [(("same",), {})] * 3
    with pytest.raises(TransformError, match="axis_size"):
        split_batch(("same",), {}, None, None, "vmap")
    with pytest.raises(TransformError, match="axis_size=2"):
        split_batch((["a", "b", "c"],), {}, 0, 2, "vmap")


def test_in_axes_tuple_must_match_argument_count():
    with pytest.raises(TransformError, match=r"len\(in_axes\)=2, len\(args\)=1"):
        split_batch(([1],), {}, (0, None), None, "vmap")
    with pytest.raises(TransformError, match=r"len\(in_axes\)=1, len\(args\)=2"):
        split_batch(([1], [2]), {}, (0,), None, "vmap")


def test_combine_transposes_dicts_and_tuples_and_keeps_lists_as_leaves():
    Pair = namedtuple("Pair", "left right")
    assert combine([{"a": 1, "b": [1]}, {"a": 2, "b": [2, 2]}]) == {"a": [1, 2],
                                                                   "b": [[1], [2, 2]]}
    assert combine([(1, "x"), (2, "y")]) == ([1, 2], ["x", "y"])
    assert combine([Pair(1, 2), Pair(3, 4)]) == Pair([1, 3], [2, 4])
    assert combine(["a", "b"]) == ["a", "b"]
    assert combine([]) == []


def test_combine_structure_does_not_depend_on_leaf_types_and_arrays_stack():
    strings = combine([{"v": "a"}, {"v": "b"}])
    arrays = combine([{"v": np.ones(2)}, {"v": np.zeros(2)}])
    assert type(strings) is dict and type(arrays) is dict
    assert type(strings["v"]) is list
    assert isinstance(arrays["v"], np.ndarray) and arrays["v"].tolist() == [[1, 1], [0, 0]]
    moved = combine([np.ones(2), np.zeros(2)], out_axes=1)
    assert moved.tolist() == [[1, 0], [1, 0]]
    mixed = combine([np.ones(2), np.ones(3)])  # shapes differ: not stackable, a list
    assert type(mixed) is list and len(mixed) == 2
    with pytest.raises(TransformError, match="out_axes=5"):
        combine([np.ones(2), np.ones(2)], out_axes=5)


def test_combine_rejects_differently_shaped_items():
    with pytest.raises(TransformError, match="item 1 is a dict with keys"):
        combine([{"a": 1}, {"b": 2}])


def test_combine_takes_the_same_keys_in_any_order_as_jax_does():
    combined = combine([{"label": "q", "length": 4}, {"length": 8, "label": "s"}])
    assert combined == {"label": ["q", "s"], "length": [4, 8]}
    assert list(combined) == ["label", "length"]  # the first item's order
    nested = combine([{"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "x": 4}}], "scan")
    assert nested == {"a": {"x": [1, 4], "y": [2, 3]}}


def test_adapt_inputs_passes_the_record_positionally_when_needed():
    def takes_item(item):
        return item["x"]

    def takes_inputs(*, inputs):
        return inputs["x"]

    assert adapt_inputs(takes_item)(inputs={"x": 1}) == 1
    assert adapt_inputs(takes_inputs) is takes_inputs
