"""Orchestration vmap/pmap take ``out_axes`` as JAX does: an int, ``None`` (a result
that is not batched: the one value every item gives) or a tuple/dict of these shaped
like the result. ``out_axes=(0, None)`` was refused ("out_axes must be an int")."""

from __future__ import annotations

import numpy as np
import pytest

from ember.xcs import TransformError, jit, op, pmap, vmap


@op
def ask(question):
    return question.upper()


def with_model(question):
    return ask(question), "model-1"


@pytest.mark.parametrize("transform", [vmap, pmap, lambda f, **k: jit(vmap(f, **k))])
def test_unbatched_part_of_the_result_is_given_once(transform):
    assert transform(with_model, out_axes=(0, None))(["a", "b"]) == (["A", "B"], "model-1")


def test_dict_and_axis_entries():
    out = vmap(lambda q: {"answer": ask(q), "vec": np.ones(2) * len(q), "model": "m"},
               out_axes={"answer": 0, "vec": 1, "model": None})(["a", "bb"])
    assert out["answer"] == ["A", "BB"] and out["model"] == "m"
    np.testing.assert_array_equal(out["vec"], np.array([[1.0, 2.0], [1.0, 2.0]]))
    assert vmap(lambda q: "same", out_axes=None)(["a", "b"]) == "same"


def test_batch_dependent_value_under_none_is_refused():
    with pytest.raises(TransformError, match=r"out_axes is None for result\[1\]"):
        vmap(lambda q: (ask(q), q), out_axes=(0, None))(["a", "b"])


def test_structure_that_does_not_fit_is_refused():
    with pytest.raises(TransformError, match=r"out_axes \(0, None\) does not fit result"):
        vmap(ask, out_axes=(0, None))(["a"])
    with pytest.raises(TransformError, match="out_axes must be an int"):
        vmap(ask, out_axes="x")(["a"])
