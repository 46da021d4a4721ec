"""vmap, pmap and scan over registered JAX pytree nodes of arrays (a dataclass given to
``jax.tree_util.register_dataclass``): JAX maps their leaves, so the transforms hand
them to JAX and give what ``jax.vmap`` / ``jax.lax.scan`` give, instead of refusing
the argument as an object that cannot be mapped."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import TransformError, jit, pmap, scan, vmap


@dataclasses.dataclass
class Pair:
    a: Any
    b: Any


jax.tree_util.register_dataclass(Pair, data_fields=["a", "b"], meta_fields=[])


@dataclasses.dataclass
class Note:  # not registered: an object, not a pytree
    a: Any


def product(pair):
    return pair.a * pair.b


def _pair():
    return Pair(jnp.ones((2, 3)), jnp.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("transform", [vmap, pmap, lambda f: jit(vmap(f))])
def test_mapped_over_a_registered_dataclass(transform):
    np.testing.assert_array_equal(transform(product)(_pair()), jax.vmap(product)(_pair()))


def test_registered_dataclass_result_and_broadcast_argument():
    out = vmap(lambda pair: Pair(pair.a, pair.b * 2))(_pair())
    expected = jax.vmap(lambda pair: Pair(pair.a, pair.b * 2))(_pair())
    assert type(out) is Pair
    np.testing.assert_array_equal(out.b, expected.b)
    both = vmap(lambda pair, x: pair.a * x, in_axes=(None, 0))(_pair(), jnp.ones((4, 2, 3)))
    assert both.shape == (4, 2, 3)


def test_scan_over_a_registered_dataclass():
    def step(carry, pair):
        return carry + pair.a.sum(), pair.b

    carry, ys = scan(step, 0.0, _pair())
    want_carry, want_ys = jax.lax.scan(step, 0.0, _pair())
    assert float(carry) == float(want_carry)
    np.testing.assert_array_equal(ys, want_ys)


def test_mismatched_leaves_raise_jax_error():
    with pytest.raises(ValueError, match="inconsistent sizes"):
        vmap(product)(Pair(jnp.ones((2, 3)), jnp.ones((3, 3))))


def test_unregistered_dataclass_is_still_refused():
    with pytest.raises(TransformError, match=r"cannot map argument 0 \(Note\)"):
        vmap(lambda note: note.a)(Note(jnp.ones(2)))
