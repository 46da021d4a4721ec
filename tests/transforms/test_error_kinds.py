"""Mistakes JAX's transforms report as ``ValueError`` are ``ValueError`` here too, on
every path: ``TransformError`` is one, so code written for ``jax.vmap``
(``except ValueError``) catches a batch of mismatched sizes whichever path ran."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from ember.xcs import TransformError, XCSError, op, pmap, vmap


@op
def pair(a, b):
    return f"{a}{b}"


def add(a, b):
    return a + b


@pytest.mark.parametrize("call", [
    lambda: vmap(pair)(["a", "b"], ["x"]),             # orchestration sizes
    lambda: pmap(pair)(["a", "b"], ["x"]),
    lambda: pmap(add)(jnp.ones((2, 3)), jnp.ones((3, 3))),  # pmap's own check of arrays
    lambda: vmap(pair, in_axes=(0,))(["a"], ["b"]),     # in_axes of the wrong length
])
def test_mismatches_are_value_errors(call):
    with pytest.raises(ValueError) as caught:
        call()
    assert isinstance(caught.value, TransformError)  # with its message naming the fix


def test_jax_reference_kind_and_xcs_base():
    with pytest.raises(ValueError, match="inconsistent sizes"):
        jax.vmap(add)(jnp.ones((2, 3)), jnp.ones((3, 3)))
    assert issubclass(TransformError, ValueError) and issubclass(TransformError, XCSError)
    assert issubclass(TransformError, RuntimeError)  # every XCSError still is one
