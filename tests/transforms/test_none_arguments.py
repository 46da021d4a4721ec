"""A positional ``None`` given to vmap/pmap with the default axis is an empty pytree, as
in JAX: it holds nothing to map, so every item gets ``None`` (the optional context of
``vmap(ask)(questions, None)``), on the orchestration path as on the array path."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import TransformError, jit, op, pmap, vmap


@op
def ask(question, context=None):
    return f"{question}@{context}"


@pytest.mark.parametrize("transform", [vmap, pmap, lambda f: jit(vmap(f))])
@pytest.mark.parametrize("questions", [["a", "b"], ["c"], []])
def test_none_argument_reaches_every_item(transform, questions):
    assert transform(ask)(questions, None) == [ask(q, None) for q in questions]


def test_array_path_agrees():
    np.testing.assert_array_equal(vmap(lambda x, unused: x * 2)(jnp.ones(2), None),
                                  jnp.full(2, 2.0))


def test_only_none_is_still_nothing_to_map():
    with pytest.raises(TransformError, match=r"argument 0 is None \(no batch in it"):
        vmap(ask)(None)
