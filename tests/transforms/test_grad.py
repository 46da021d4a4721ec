"""grad and value_and_grad: JAX semantics, ops as constants, clear errors through ops."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import (
    Config,
    ConfigError,
    TransformError,
    get_jit_stats,
    grad,
    jit,
    op,
    value_and_grad,
)

CALLS: list[str] = []


@op
def temperature_for(task):
    CALLS.append(task)
    return 2.0 if task == "creative" else 0.5


@op
def judge(value):
    return "good"


def loss(w, x):
    return jnp.sum((x @ w) ** 2)


def test_grad_matches_jax_for_each_argnum():
    w, x = jnp.array([1.0, -2.0]), jnp.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(grad(loss)(w, x), jax.grad(loss)(w, x))
    for argnums in (1, (0, 1)):
        got = grad(loss, argnums=argnums)(w, x)
        expected = jax.grad(loss, argnums=argnums)(w, x)
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
            np.testing.assert_allclose(a, b)


def test_value_and_grad_with_aux_matches_jax():
    def with_aux(w):
        return jnp.sum(w ** 3), {"norm": jnp.linalg.norm(w)}

    w = jnp.array([1.0, 2.0])
    (value, aux), slope = value_and_grad(with_aux, has_aux=True)(w)
    (ref_value, ref_aux), ref_slope = jax.value_and_grad(with_aux, has_aux=True)(w)
    assert float(value) == float(ref_value)
    np.testing.assert_allclose(aux["norm"], ref_aux["norm"])
    np.testing.assert_allclose(slope, ref_slope)
    g, aux = grad(with_aux, has_aux=True)(w)
    np.testing.assert_allclose(g, ref_slope)


def test_hybrid_grad_treats_op_outputs_as_constants():
    CALLS.clear()

    def scaled(w, task):
        return jnp.sum(w ** 2) * temperature_for(task)

    w = jnp.array([1.0, 3.0])
    np.testing.assert_allclose(grad(scaled)(w, "creative"), 2.0 * 2 * w)
    assert CALLS == ["creative"]  # exactly once per call


def test_differentiated_input_flowing_into_an_op_names_the_op_and_line():
    def leaky(w):
        verdict = judge(w)  # the differentiated input reaches an op
        return jnp.sum(w) if verdict else 0.0

    with pytest.raises(TransformError) as caught:
        grad(leaky)(jnp.ones(2))
    message = str(caught.value)
    assert "'judge'" in message
    line = leaky.__code__.co_firstlineno + 1
    assert f"test_grad.py:{line}" in message


PROMPTS: list = []


@op
def rate(prompt):
    PROMPTS.append(prompt)
    return 2.0


class _Box:
    def __init__(self, value):
        self.value = value


@pytest.mark.parametrize(("build", "route"), [
    (lambda w: f"Rate these weights: {w}", "as text"),
    (lambda w: "weights " + str(w * 2), "as text"),
    (lambda w: "weights %r" % (w,), "as text"),  # noqa: UP031 - the % route on purpose
    (lambda w: _Box(w), "inside an object"),
    (lambda w: [w], ""),
])
@pytest.mark.parametrize("transform", [grad, value_and_grad])
def test_differentiated_input_reaching_an_op_by_any_route_is_refused(transform, build, route):
    PROMPTS.clear()

    def scored(w):
        return jnp.sum(w ** 2) * rate(build(w))

    with pytest.raises(TransformError, match=f"flows into op 'rate' at .*{route}"):
        transform(scored)(jnp.array([1.0, 3.0]))
    assert PROMPTS == []  # the op never saw a traced value or its text


def test_text_of_values_that_do_not_depend_on_the_input_may_reach_ops():
    PROMPTS.clear()

    def scored(w, label):
        return jnp.sum(w ** 2) * rate(f"{label}: {jax.lax.stop_gradient(w)}")

    np.testing.assert_allclose(grad(scored)(jnp.array([1.0, 3.0]), "weights"), [4.0, 12.0])
    assert PROMPTS == ["weights: [1. 3.]"]


def test_grad_traces_through_tensor_ops_as_jax_grad_does():
    from ember.xcs import mark_tensor

    @mark_tensor
    def normalize(x):
        return x / jnp.linalg.norm(x)

    def plain_normalize(x):
        return x / jnp.linalg.norm(x)

    x = jnp.array([1.0, 2.0, 3.0])
    expected = jax.grad(lambda v: plain_normalize(v).sum())(x)
    np.testing.assert_allclose(grad(lambda v: normalize(v).sum())(x), expected, rtol=1e-6)
    np.testing.assert_allclose(
        grad(lambda v: normalize(v).sum(), allow_hybrid=False)(x), expected, rtol=1e-6)
    value, slope = value_and_grad(lambda v: normalize(v).sum())(x)
    np.testing.assert_allclose(slope, expected, rtol=1e-6)


def test_stop_gradient_values_may_reach_ops():
    def guarded(w):
        verdict = judge(jax.lax.stop_gradient(w))
        return jnp.sum(w * 2) if verdict == "good" else 0.0

    np.testing.assert_allclose(grad(guarded)(jnp.ones(2)), jnp.full(2, 2.0))


def test_grad_inside_tensor_jit_with_an_op_switches_jit_to_orchestration():
    CALLS.clear()

    @jit
    def step(w):
        slope = grad(lambda v: jnp.sum(v ** 2) * temperature_for("precise"))(w)
        return w - 0.1 * slope

    w = jnp.array([1.0, 2.0])
    np.testing.assert_allclose(step(w), w - 0.1 * 2 * 0.5 * w, rtol=1e-6)
    np.testing.assert_allclose(step(w), w - 0.1 * 2 * 0.5 * w, rtol=1e-6)
    assert CALLS == ["precise", "precise"]  # never baked into compiled code
    assert get_jit_stats(step)["mode"] == "orchestration"


def test_grad_in_tensor_jit_without_ops_stays_tensor():
    step = jit(lambda w: w - 0.1 * grad(lambda v: jnp.sum(v ** 2))(w))
    np.testing.assert_allclose(step(jnp.ones(2)), jnp.full(2, 0.8))
    assert get_jit_stats(step)["mode"] == "tensor"


def test_grad_records_one_node_inside_autograph():
    from ember.xcs import autograph, execute, placeholder

    def scaled(w, t):
        return jnp.sum(w ** 2) * t

    def with_aux(w):
        return jnp.sum(w), "aux"

    w = jnp.array([1.0, 3.0])
    with autograph() as graph:
        slope = grad(scaled)(placeholder("w"), 2.0)  # noqa: F841 - read back by name
        hybrid = grad(scaled)(w, temperature_for(placeholder("task")))  # noqa: F841
        value, both = value_and_grad(scaled)(placeholder("w"), temperature_for("plain"))
        ones, aux = grad(with_aux, has_aux=True)(placeholder("w"))
    assert "grad(scaled)(w, 2.0)" in str(graph)
    values = execute(graph, inputs={"w": w, "task": "creative"})
    np.testing.assert_allclose(values["slope"], grad(scaled)(w, 2.0))
    np.testing.assert_allclose(values["hybrid"], [4.0, 12.0])
    np.testing.assert_allclose(values["value"], 5.0)
    np.testing.assert_allclose(values["both"], [1.0, 3.0])
    np.testing.assert_allclose(values["ones"], [1.0, 1.0])
    assert values["aux"] == "aux"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: grad(jnp.sin, max_workers=2), r"grad\(\): max_workers=2 is a setting\. .*it "
                                           r"takes no settings \(no config=\)"),
    (lambda: grad(jnp.sin, Config()), r"grad\(\) got a Config, but it takes no settings"),
    (lambda: value_and_grad(jnp.sin, config=Config()), r"'config' is not one of its "
                                                       r"parameters"),
    (lambda: grad(jnp.sin, argnum=1), r"'argnum' is not one of its parameters \(did you "
                                      r"mean 'argnums'\?\)"),
])
def test_an_argument_grad_does_not_take_is_named(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
    assert list(inspect.signature(grad).parameters) == [
        "fn", "argnums", "has_aux", "holomorphic", "allow_int", "allow_hybrid", "strict"]
