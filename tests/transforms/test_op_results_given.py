"""A transform inside ``@jit`` given op results reads them as plain Python does.

``vmap``/``pmap``/``scan`` choose how to read an argument from its type (an array is
sliced, a dict is a record, arrays and numbers go to JAX); an op result still pending
must not change that choice: the call waits for it and takes the plain path.
"""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import jit, op, pmap, scan, vmap

calls: collections.Counter[str] = collections.Counter()


@op
def vectors(n):
    calls["vectors"] += 1
    return np.arange(n * 2.0).reshape(n, 2)


@op
def jax_vectors(n):
    calls["jax_vectors"] += 1
    return jnp.arange(n * 2.0).reshape(n, 2)


@op
def featurize(text):
    calls["featurize"] += 1
    return np.array([len(text), text.count("a")], dtype=float)


@op
def scale(v):
    calls["scale"] += 1
    return v * 2


@op
def weight(text):
    return len(text) / 4


def batch_of_an_op(n):
    return vmap(scale)(vectors(n))


def vmap_of_a_vmap(texts):
    return vmap(scale)(vmap(featurize)(texts))


def jax_array_of_an_op(n):
    return vmap(lambda v: v.sum())(jax_vectors(n))


def record_field_of_an_op(n):
    return vmap(lambda d: d["a"] * 2)({"a": vectors(n)})


def pmap_of_an_op(n):
    return pmap(lambda v: v + 1)(jax_vectors(1)), n


def scan_carry_of_an_op(text):
    return scan(lambda c, x: (c + x, c), weight(text), jnp.arange(3.0))


def scan_xs_of_an_op(n):
    return scan(lambda c, x: (c + x, c * 2), jnp.zeros(2), jax_vectors(n))


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray | jax.Array):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize(("fn", "inputs"), [
    (batch_of_an_op, (3, 1)),
    (vmap_of_a_vmap, (["banana", "kiwi"], ["aa"])),
    (jax_array_of_an_op, (3, 2)),
    (record_field_of_an_op, (2, 4)),
    (pmap_of_an_op, (1, 2)),
    (scan_carry_of_an_op, ("ab", "abcdef")),
    (scan_xs_of_an_op, (3, 2)),
])
def test_a_transform_given_op_results_returns_what_plain_python_returns(fn, inputs):
    jitted = jit(fn)
    for given in inputs:
        calls.clear()
        expected = fn(given)
        plain_calls = dict(calls)
        calls.clear()
        _same(jitted(given), expected)
        assert dict(calls) == plain_calls
