"""``split_batch``: in_axes templates, nested axes, and an error for each way to get them wrong."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import TransformError, vmap
from ember.xcs.transforms.splitting import split_batch


def args_of(calls: list) -> list:
    return [args for args, _ in calls]


def test_a_dict_of_axes_maps_its_fields_by_their_own_axes() -> None:
    shared = ["kept", "whole"]
    calls = split_batch(({"xs": [1, 2], "other": shared},), {}, ({"xs": 0, "other": None},),
                        None, "vmap")
    assert args_of(calls) == [({"xs": 1, "other": shared},), ({"xs": 2, "other": shared},)]
    assert calls[1][0][0]["other"] is shared


def test_a_dict_of_axes_leaving_out_a_field_is_refused_on_both_paths_as_jax_does() -> None:
    embedding = jnp.arange(6.0).reshape(2, 3)
    fixed = (r"does not name field\(s\) \['emb'\]; as in JAX.*Add 'emb': None to give "
             r"them unchanged to every item, or an axis \(0\) to map them")
    for labels in (["x", "y"], jnp.array([0, 1])):  # orchestration, then jax.vmap
        with pytest.raises(TransformError, match=fixed):
            vmap(lambda r: (r["label"], r["emb"].sum()), in_axes=({"label": 0},))(
                {"label": labels, "emb": embedding})
    labels, sums = vmap(lambda r: (r["label"], r["emb"].sum()),
                        in_axes=({"label": 0, "emb": None},))({"label": ["x", "y"],
                                                               "emb": embedding})
    assert labels == ["x", "y"] and [float(s) for s in sums] == [15.0, 15.0]


def test_a_tuple_of_axes_gives_each_item_its_own_axis_and_keeps_the_container_type() -> None:
    calls = split_batch((([1, 2], "same"),), {}, ((0, None),), None, "vmap")
    assert args_of(calls) == [((1, "same"),), ((2, "same"),)]
    calls = split_batch(([[1, 2], "same"],), {}, ([0, None],), None, "vmap")
    assert args_of(calls) == [([1, "same"],), ([2, "same"],)]


def test_arrays_are_sliced_along_any_axis_negative_ones_counting_from_the_last() -> None:
    grid = np.arange(6).reshape(2, 3)
    columns = split_batch((grid,), {}, 1, None, "vmap")
    assert [args[0].tolist() for args in args_of(columns)] == [[0, 3], [1, 4], [2, 5]]
    last = split_batch((grid,), {}, -1, None, "vmap")
    assert [args[0].tolist() for args in args_of(last)] == [[0, 3], [1, 4], [2, 5]]


def test_a_positional_tuple_is_a_batch_but_a_tuple_field_of_a_record_is_broadcast() -> None:
    assert args_of(split_batch(((1, 2),), {}, 0, None, "vmap")) == [(1,), (2,)]
    pair = (1, 2)
    calls = split_batch((), {"inputs": {"xs": [1, 2], "pair": pair}}, 0, None, "vmap")
    assert [kwargs["inputs"]["pair"] for _, kwargs in calls] == [pair, pair]


def test_a_keyword_that_is_not_a_batch_is_broadcast() -> None:
    calls = split_batch(([1, 2],), {"scale": 3}, 0, None, "vmap")
    assert [kwargs for _, kwargs in calls] == [{"scale": 3}, {"scale": 3}]


@pytest.mark.parametrize(("args", "in_axes", "message"), [
    (([1, 2],), ({"xs": 0},), "in_axes gives a dict for argument 0, but the value is a list"),
    (({"xs": [1]},), ({"ys": 0},),
     r"in_axes names field\(s\) \['ys'\] that argument 0 does not have \(it has \['xs'\]\)"),
    (([1, 2],), ((0, 0, 0),), "in_axes gives 3 axes for argument 0, which is a list of length 2"),
    (("text",), ((0,),), "in_axes gives 1 axes for argument 0, which is a str\\."),
    (([1, 2],), ("0",), "in_axes entries must be int, None, or a dict/tuple of them; got '0'"),
    (([1, 2],), (True,), "in_axes entries must be int, None, or a dict/tuple of them; got True "
                         "for argument 0"),
    ((np.zeros(3),), (1,), "cannot map argument 0 over axis 1: it has rank 1"),
    (([1, 2],), (1,), "argument 0 is a list; lists and tuples can only be mapped over axis 0, "
                      "not 1"),
    ((7,), (0,), r"cannot map argument 0 \(int\) over axis 0: only lists, tuples, arrays "
                 "and dicts of them can be mapped. Give it in_axes None"),
])
def test_each_unusable_in_axes_names_the_argument_and_what_is_wrong(
        args: tuple, in_axes: tuple, message: str) -> None:
    with pytest.raises(TransformError, match=f"^vmap: {message}"):
        split_batch(args, {}, in_axes, None, "vmap")


def test_field_errors_name_the_path_to_the_field() -> None:
    with pytest.raises(TransformError, match=r"argument 0\['inner'\] over axis 2: it has rank 1"):
        split_batch(({"inner": np.zeros(2)},), {}, ({"inner": 2},), None, "pmap")


def test_nothing_mapped_names_the_record_whose_fields_hold_no_list():
    def label(item):
        return item["text"].upper()

    with pytest.raises(TransformError) as info:
        vmap(label)({"text": "one"})
    message = str(info.value)
    assert "argument 0 is a dict (a record), but none of its fields (['text'])" in message
    assert "in_axes entry is None" not in message and "keyword" not in message
    assert vmap(label, axis_size=2)({"text": "one"}) == ["ONE", "ONE"]  # the fix works
    with pytest.raises(TransformError, match=r"argument 0 has in_axes None"):
        vmap(label, in_axes=None)({"text": "one"})


def test_a_keyword_of_the_wrong_length_gets_a_fix_that_applies_to_keywords():
    def fmt(text, *, sep):
        return str(sep) + text

    with pytest.raises(TransformError, match=r"argument 0 has 2, sep has 3") as info:
        vmap(fmt)(["a", "b"], sep=["-", "+", "*"])
    message = str(info.value)
    assert "give the ones to broadcast in_axes None" not in message
    assert "functools.partial(fn, sep=...)" in message
    fixed = vmap(functools.partial(fmt, sep=["-", "+", "*"]))(["a", "b"])
    assert fixed == ["['-', '+', '*']a", "['-', '+', '*']b"]


@pytest.mark.parametrize("scalar", [np.mean([0.5, 0.9]), np.float32(0.7), np.array(0.7)])
def test_a_numpy_scalar_keyword_or_field_is_broadcast_like_a_float(scalar):
    calls = split_batch((["a", "b"],), {"temp": scalar}, 0, None, "vmap")
    assert [kwargs["temp"] for _, kwargs in calls] == [scalar, scalar]
    assert all(kwargs["temp"] is scalar for _, kwargs in calls)
    record = split_batch(({"p": ["a", "b"], "temp": scalar},), {}, 0, None, "vmap")
    assert all(args[0]["temp"] is scalar for args, _ in record)


def test_a_scalar_positional_argument_cannot_be_mapped_and_the_fix_is_named():
    with pytest.raises(TransformError, match="it has rank 0. Give it in_axes None"):
        split_batch((np.float64(0.7), ["a"]), {}, 0, None, "vmap")


def test_a_dict_as_the_whole_in_axes_gives_keyword_records_their_fields_axes() -> None:
    # pyember's vmap(op, in_axes={"query": 0, "context": None})(inputs={...}): the dict
    # names the fields of every argument, keyword ones too, on both paths.
    context = ["c1", "c2"]
    calls = split_batch((), {"inputs": {"query": ["q1", "q2"], "context": context}},
                        {"query": 0, "context": None}, None, "vmap")
    assert [kwargs["inputs"] for _, kwargs in calls] == [
        {"query": "q1", "context": context}, {"query": "q2", "context": context}]
    assert calls[1][1]["inputs"]["context"] is context

    def seen(inputs):
        return f"{inputs['query']}|{len(inputs['context'])}"

    batched = vmap(seen, in_axes={"query": 0, "context": None})
    assert batched(inputs={"query": ["a", "b", "c"], "context": context}) == ["a|2", "b|2", "c|2"]
    assert batched({"query": ["a", "b", "c"], "context": context}) == ["a|2", "b|2", "c|2"]
    with pytest.raises(TransformError, match=r"does not name field\(s\) \['context'\]"):
        vmap(seen, in_axes={"query": 0})(inputs={"query": ["a"], "context": context})
    with pytest.raises(TransformError, match="in_axes gives a dict for suffix, but the value"):
        vmap(seen, in_axes={"query": 0, "context": None})(suffix=["!"])

    def scaled(inputs):
        return inputs["x"] * inputs["scale"]

    record = {"x": jnp.arange(3.0), "scale": jnp.ones(3)}
    tensor = vmap(scaled, in_axes={"x": 0, "scale": None})
    assert tensor(inputs=record).shape == (3, 3)
    assert tensor(record).shape == (3, 3)
    assert tensor(inputs=record).tolist() == tensor(record).tolist()
