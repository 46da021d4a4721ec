"""Dispatch by trying: leaf kinds, and jit's tensor fast path versus orchestration mode."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import TransformError, get_jit_stats, jit, op, vmap
from ember.xcs.transforms import tensor
from ember.xcs.transforms.tensor import ARRAY, ATOM, NUMBER, OTHER, is_tensor_tree, leaf_kind

CALLS: list[str] = []


@op
def describe(value):
    CALLS.append(str(value))
    return f"value={value}"


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


def test_tensor_only_jit_is_jax_jit():
    def f(x, y):
        return jnp.tanh(x) @ y + 1.0

    jitted = jit(f)
    x, y = jnp.arange(6.0).reshape(2, 3), jnp.ones((3, 2))
    np.testing.assert_allclose(jitted(x, y), jax.jit(f)(x, y), rtol=1e-6)
    np.testing.assert_allclose(jitted(x + 1, y), jax.jit(f)(x + 1, y), rtol=1e-6)
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "tensor"
    assert stats["calls"] == 2
    assert stats["fallbacks"] == []


def test_numbers_become_static_when_jax_needs_them_concrete():
    @jit
    def repeat_add(x, times):
        for _ in range(times):
            x = x + 1
        return x

    assert float(repeat_add(jnp.zeros(()), 3)) == 3.0
    assert float(repeat_add(jnp.zeros(()), 5)) == 5.0
    assert get_jit_stats(repeat_add)["mode"] == "tensor"


def test_op_reached_while_jax_traces_switches_to_orchestration_without_running_it():
    CALLS.clear()

    def hybrid(x):
        total = jnp.sum(x)
        return describe(total), total * 2

    jitted = jit(hybrid)
    x = jnp.arange(4.0)
    label, doubled = jitted(x)
    assert label == "value=6.0"
    assert float(doubled) == 12.0
    assert CALLS == ["6.0"]  # the op ran once: JAX's trace stopped before calling it
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "orchestration"
    assert any("switched to orchestration mode: op describe" in f for f in stats["fallbacks"])
    assert jitted._tensor is None  # remembered: later calls go straight to the tracer
    assert jitted(x)[0] == "value=6.0"
    assert CALLS == ["6.0", "6.0"]


def test_value_dependent_python_falls_back_and_matches_plain():
    def branchy(x):
        if x.sum() > 0:
            return x * 2
        return -x

    jitted = jit(branchy)
    for value in (jnp.ones(3), -jnp.ones(3)):
        np.testing.assert_array_equal(jitted(value), branchy(value))
    assert get_jit_stats(jitted)["mode"] == "orchestration"


def test_call_without_arrays_is_orchestration_for_good():
    jitted = jit(lambda text: describe(text))
    assert jitted("hi") == "value=hi"
    assert jitted._tensor is None


def test_user_exception_keeps_its_type_in_tensor_code():
    def check(x):
        if x.shape[0] != 2:
            raise ValueError(f"need 2 rows, got {x.shape[0]}")
        return x

    with pytest.raises(ValueError, match="need 2 rows, got 3"):
        jit(check)(jnp.ones(3))


def test_without_jax_orchestration_works_and_tensors_name_the_extra(monkeypatch):
    monkeypatch.setattr(tensor, "_jax", None)
    assert vmap(str.upper)(["a", "b"]) == ["A", "B"]
    with pytest.raises(TransformError, match=r"pip install 'ember-xcs\[jax\]'"):
        vmap(lambda row: row * 2)(np.ones((2, 2)))
    jitted = jit(lambda x: x * 2)  # jit still runs: as plain NumPy through the tracer
    np.testing.assert_array_equal(jitted(np.ones(2)), np.full(2, 2.0))


def test_importing_ember_xcs_does_not_import_jax():
    code = "import sys, ember.xcs; assert 'jax' not in sys.modules, 'jax was imported'"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
