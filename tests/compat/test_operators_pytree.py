"""pyember's Operators are JAX pytrees: grad, jit, tree_map and optax work on them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy
optax = pytest.importorskip("optax")

from ember.api.operators import FrozenOperatorError, LearnableRouter, Operator  # noqa: E402


class Linear(Operator):
    weights: jax.Array
    bias: jax.Array
    label: str = "linear"

    def forward(self, x):
        return x @ self.weights + self.bias


def loss(model, x, y):
    return jnp.sum((model(x) - y) ** 2)


def test_grad_over_an_operator_equals_the_hand_computed_gradient():
    model = Linear(weights=jnp.array([1.0, -2.0]), bias=jnp.array(0.5))
    x, y = jnp.array([3.0, 4.0]), jnp.array(1.0)
    grads = jax.grad(loss)(model, x, y)
    residual = float(x @ model.weights + model.bias - y)  # 3 - 8 + 0.5 - 1 = -5.5
    assert isinstance(grads, Linear) and grads.label == "linear"
    assert jnp.allclose(grads.weights, 2 * residual * x)
    assert jnp.allclose(grads.bias, 2 * residual)


def test_tree_leaves_and_tree_map_see_only_the_array_fields():
    model = Linear(weights=jnp.ones(2), bias=jnp.zeros(()))
    leaves = jax.tree_util.tree_leaves(model)
    assert len(leaves) == 2 and all(isinstance(leaf, jax.Array) for leaf in leaves)
    doubled = jax.tree_util.tree_map(lambda a: a * 2, model)
    assert isinstance(doubled, Linear) and jnp.allclose(doubled.weights, 2.0)
    assert doubled.label == "linear"
    flags = jax.tree_util.tree_map(lambda _: True, model)  # structure kept for non-arrays
    assert jax.tree_util.tree_structure(flags) == jax.tree_util.tree_structure(model)


def test_an_optax_step_changes_exactly_the_array_leaves():
    model = Linear(weights=jnp.array([1.0, -2.0]), bias=jnp.array(0.5))
    optimizer = optax.sgd(0.1)
    state = optimizer.init(model)
    grads = jax.grad(loss)(model, jnp.array([3.0, 4.0]), jnp.array(1.0))
    updates, state = optimizer.update(grads, state, model)
    stepped = optax.apply_updates(model, updates)
    assert stepped.label == model.label
    assert jnp.allclose(stepped.weights, model.weights - 0.1 * grads.weights)
    assert jnp.allclose(stepped.bias, model.bias - 0.1 * grads.bias)
    assert jnp.allclose(model.weights, jnp.array([1.0, -2.0]))  # the original is unchanged


def test_jax_jit_and_vmap_take_operators():
    model = Linear(weights=jnp.array([1.0, 2.0]), bias=jnp.array(1.0))
    assert float(jax.jit(lambda m, x: m(x))(model, jnp.array([1.0, 1.0]))) == 4.0
    batch = jax.vmap(lambda x: model(x))(jnp.eye(2))
    assert jnp.allclose(batch, jnp.array([2.0, 3.0]))


def test_nested_operators_are_subtrees_and_static_fields_stay_out():
    class Stack(Operator):
        def __init__(self, first, second, name):
            self.first = first
            self.second = second
            self.name = name
            self.callback = print

        def forward(self, x):
            return self.second(self.first(x))

    first = Linear(weights=jnp.eye(2), bias=jnp.zeros(2))
    stack = Stack(first, Linear(weights=jnp.ones(2), bias=jnp.array(0.0)), "s")
    assert len(jax.tree_util.tree_leaves(stack)) == 4
    assert float(stack(jnp.array([1.0, 2.0]))) == 3.0
    grads = jax.grad(lambda s: s(jnp.array([1.0, 2.0])))(stack)
    assert jnp.allclose(grads.second.weights, jnp.array([1.0, 2.0]))


def test_assigning_or_deleting_a_field_raises_and_update_params_copies():
    model = Linear(weights=jnp.ones(2), bias=jnp.zeros(()))
    with pytest.raises(FrozenOperatorError, match=r"update_params\(weights=...\)"):
        model.weights = jnp.zeros(2)
    with pytest.raises(AttributeError, match="frozen"):
        del model.bias
    updated = model.update_params(bias=jnp.array(2.0), label="moved")
    assert (float(updated.bias), updated.label) == (2.0, "moved")
    assert (float(model.bias), model.label) == (0.0, "linear")
    assert len(jax.tree_util.tree_leaves(updated)) == 2
    with pytest.raises(AttributeError, match="unknown field"):
        model.update_params(nope=1)


def test_custom_init_operators_freeze_after_init_even_with_super_calls():
    class Base(Operator):
        def __init__(self, scale):
            self.scale = scale

    class Child(Base):
        def __init__(self, scale, shift):
            super().__init__(scale)
            self.shift = shift  # still inside __init__: allowed

        def forward(self, x):
            return x * self.scale + self.shift

    child = Child(2.0, 1.0)
    assert child(3.0) == 7.0
    with pytest.raises(FrozenOperatorError):
        child.shift = 0.0


def test_learnable_router_is_trainable_by_grad():
    router = LearnableRouter({"a": str.upper, "b": str.lower}, embed_dim=3,
                             key=jax.random.PRNGKey(0), embedding_fn=lambda s: jnp.ones(3))
    leaves = jax.tree_util.tree_leaves(router)
    assert [leaf.shape for leaf in leaves] == [(3, 2), ()]

    def prefer_b(r):
        return -jnp.log(r.compute_route_probabilities(jnp.ones(3))[1])

    grads = jax.grad(prefer_b)(router)
    stepped = jax.tree_util.tree_map(lambda p, g: p - 1.0 * g, router, grads)
    assert prefer_b(stepped) < prefer_b(router)
    assert stepped.routes is router.routes


def test_operators_defined_before_jax_is_imported_are_pytrees():
    script = textwrap.dedent("""
        import sys
        from ember.api.operators import Operator, LearnableRouter
        assert "jax" not in sys.modules

        class Early(Operator):
            def __init__(self, w):
                self.w = w
            def forward(self, x):
                return x * self.w

        import jax, jax.numpy as jnp
        early = Early(jnp.array(2.0))
        print(len(jax.tree_util.tree_leaves(early)), float(jax.grad(lambda m: m(3.0))(early).w))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "3.0"]
