"""readings: tensor-only batches that jax.vmap would read unlike the batching rules."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from ember.xcs import TransformError, pmap, vmap


def total(batch):
    return batch.sum()


def test_a_list_of_arrays_is_refused_with_both_fixes_instead_of_read_as_a_pytree():
    batches = [np.ones(3), np.zeros(3)]
    with pytest.raises(TransformError, match=r"argument 0 is a list of 2 items") as info:
        vmap(total)(batches)
    message = str(info.value)
    assert "jnp.stack" in message and "[0, 0]" in message
    # Both fixes work, and give the two meanings:
    assert vmap(total)(np.stack(batches)).tolist() == [3.0, 0.0]
    assert vmap(lambda b: b[0] + b[1], in_axes=([0, 0],))(batches).tolist() == [1.0] * 3
    # With a string argument the list is the batch, as the docs' table says:
    assert vmap(lambda b, tag: b.sum(), in_axes=(0, None))(batches, "t").tolist() == [3.0, 0.0]
    with pytest.raises(TransformError, match=r"argument 0 is a tuple of 2 items"):
        pmap(total)(tuple(batches))


def test_a_numeric_record_field_or_keyword_is_named_with_a_fix_that_works():
    def scale(inputs):
        return inputs["x"] * inputs["scale"]

    record = {"x": np.arange(3.0), "scale": 2.0}
    with pytest.raises(TransformError, match=r"inputs\['scale'\] is a scalar \(2.0\)") as info:
        vmap(scale)(inputs=record)
    assert "{'scale': None, ...}" in str(info.value)
    fixed = vmap(scale, in_axes=({"x": 0, "scale": None},))(record)
    assert fixed.tolist() == [0.0, 2.0, 4.0]
    assert vmap(scale)(inputs={**record, "name": "run"}).tolist() == [0.0, 2.0, 4.0]

    def times(x, *, s):
        return x * s

    with pytest.raises(TransformError, match=r"(?s)s is a scalar .*functools.partial"):
        vmap(times)(np.arange(3.0), s=2.0)
    assert vmap(functools.partial(times, s=2.0))(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]
