"""Leaf kinds: which arguments are tensor data, and JAX imported only when needed."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import TransformError, jit, vmap
from ember.xcs.transforms import leaves
from ember.xcs.transforms.leaves import (
    ARRAY,
    ATOM,
    NUMBER,
    OTHER,
    argument_kind,
    count_arrays,
    has_tracer,
    is_tensor_tree,
    jax_or_none,
    leaf_kind,
    require_jax,
)


def test_leaf_kinds():
    assert leaf_kind(np.ones(3)) == ARRAY
    assert leaf_kind(jnp.ones(3)) == ARRAY
    assert leaf_kind(np.float32(1.0)) == ARRAY
    assert leaf_kind(np.array(["a", "b"])) == OTHER  # strings are not tensor data
    assert leaf_kind(3) == NUMBER and leaf_kind(2.5) == NUMBER
    assert leaf_kind("text") == ATOM and leaf_kind(None) == ATOM
    assert leaf_kind(object()) == OTHER


def test_tensor_trees_need_an_array_and_only_numeric_leaves():
    assert is_tensor_tree({"w": jnp.ones(2), "b": (1.0, None)})
    assert not is_tensor_tree([1, 2, 3])  # numbers alone: no array
    assert not is_tensor_tree([jnp.ones(2), "label"])


def test_count_arrays_stops_at_the_first_leaf_that_is_not_tensor_data():
    assert count_arrays({"w": jnp.ones(2), "b": [np.ones(3), 1.0]}) == 2
    assert count_arrays([1.0, None]) == 0
    assert count_arrays([jnp.ones(2), object()]) is None


def test_argument_kinds_say_what_can_be_static():
    assert argument_kind([jnp.ones(2), 1.0]) == ARRAY
    assert argument_kind((1, "a", None)) == ATOM  # a hashable tuple: static-able
    assert argument_kind([1, "a"]) == OTHER  # a list is not hashable
    assert argument_kind(3) == NUMBER and argument_kind("s") == ATOM


def test_registered_pytrees_of_arrays_are_array_arguments():
    @jax.tree_util.register_pytree_node_class
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def tree_flatten(self):
            return (self.a, self.b), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    assert argument_kind(Pair(jnp.ones(2), 1.0)) == ARRAY
    assert argument_kind(Pair("a", "b")) == OTHER


def test_has_tracer_sees_values_jax_is_tracing():
    seen = []
    jax.jit(lambda x: seen.append(has_tracer({"x": x})) or x)(jnp.ones(2))
    assert seen == [True]
    assert not has_tracer({"x": jnp.ones(2)})


def test_jax_is_found_and_required_by_name():
    assert jax_or_none() is jax and require_jax("grad") is jax


def test_without_jax_orchestration_works_and_tensors_name_the_extra(monkeypatch):
    monkeypatch.setattr(leaves, "_jax", None)
    assert jax_or_none() is None
    with pytest.raises(TransformError, match="grad needs JAX"):
        require_jax("grad")
    assert vmap(str.upper)(["a", "b"]) == ["A", "B"]
    with pytest.raises(TransformError, match=r"pip install 'ember-xcs\[jax\]'"):
        vmap(lambda row: row * 2)(np.ones((2, 2)))
    jitted = jit(lambda x: x * 2)  # jit still runs: as plain NumPy through the tracer
    np.testing.assert_array_equal(jitted(np.ones(2)), np.full(2, 2.0))


def test_importing_ember_xcs_does_not_import_jax():
    code = "import sys, ember.xcs; assert 'jax' not in sys.modules, 'jax was imported'"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_importing_ember_xcs_leaves_asyncio_and_multiprocessing_to_their_users():
    # asyncio (with ssl, socket) and multiprocessing cost tens of milliseconds each: they
    # are imported by the code that runs coroutines or hands ops to process pools.
    code = ("import sys, ember.xcs; loaded = [m for m in ('asyncio', 'ssl', 'multiprocessing',"
            " 'jax', 'numpy', 'dask') if m in sys.modules]; assert not loaded, loaded")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
