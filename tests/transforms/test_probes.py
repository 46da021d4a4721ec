"""Probes: the op handlers installed while JAX traces."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import pytest

from ember.xcs import TransformError, op
from ember.xcs.tracing import context
from ember.xcs.transforms.probes import (
    TENSOR_PROBE,
    GradProbe,
    OpReached,
    TensorProbe,
    caller_location,
    probed,
)

CALLS: list[object] = []


@op
def record(value):
    CALLS.append(value)
    return value


def test_a_probed_function_stops_at_the_first_op_before_it_runs():
    CALLS.clear()

    def hybrid(x):
        return record(x) + 1  # the line OpReached must name

    with pytest.raises(OpReached) as caught:
        probed(hybrid)(1)
    assert CALLS == []
    assert caught.value.op_name == "record"
    assert caught.value.location is not None
    assert caught.value.location.filename == __file__
    assert "switched to orchestration mode: op record" in caught.value.fallback().reason


def test_op_reached_is_no_exception_user_code_could_swallow():
    assert not issubclass(OpReached, Exception)

    def swallowing(x):
        try:
            return record(x)
        except Exception:  # noqa: BLE001 - what user code might do
            return "swallowed"

    with pytest.raises(OpReached):
        probed(swallowing)(1)


def test_probed_restores_the_previous_handler():
    before = context.current_trace()
    with pytest.raises(OpReached):
        probed(lambda: record(1))()
    assert context.current_trace() is before
    assert isinstance(TENSOR_PROBE, TensorProbe)


def test_caller_location_is_the_user_line():
    location = caller_location()
    assert location is not None and location.filename == __file__


def test_grad_probe_runs_ops_eagerly_on_constants():
    CALLS.clear()
    probe = GradProbe(None, "grad")

    def f(x):
        scale = record(2.0)  # a constant: not derived from x
        return x * scale

    assert float(jax.grad(probed(f, probe))(jnp.float32(3.0))) == 2.0
    assert CALLS == [2.0] and probe.ops_called == 1


def test_grad_probe_refuses_the_differentiated_input_in_an_op():
    with pytest.raises(TransformError, match="the differentiated input flows into op 'record'"):
        jax.grad(probed(lambda x: record(x) * 1.0, GradProbe(None, "grad")))(jnp.float32(1.0))


def test_grad_probe_without_ops_allowed_names_the_option():
    with pytest.raises(TransformError, match="allow_hybrid=False"):
        probed(lambda: record(1), GradProbe(None, "grad", allow_ops=False))()


def test_grad_probe_inside_a_tensor_probe_stops_the_trace():
    with pytest.raises(OpReached):
        probed(lambda: record(1), GradProbe(TENSOR_PROBE, "grad"))()


def test_probed_keeps_the_name_and_signature_so_jax_names_the_users_parameters():
    def add(a, b):
        return a + b

    wrapped = probed(add)
    assert wrapped.__name__ == "add"
    assert list(inspect.signature(wrapped).parameters) == ["a", "b"]
    with pytest.raises(ValueError, match="argument a .*\n.*argument b ") as info:
        jax.vmap(wrapped)(jnp.ones(3), jnp.ones(4))
    assert "args" not in str(info.value) and "kwargs" not in str(info.value)
