"""jit's tensor fast path versus orchestration mode, decided by trying."""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import get_jit_stats, jit, op

CALLS: list[str] = []


@op
def describe(value):
    CALLS.append(str(value))
    return f"value={value}"


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


def test_an_op_in_the_code_means_orchestration_before_jax_traces():
    """The glue before the op runs once on the first call, with real arrays (JAX's trace
    would have run it too, handing the glue tracers)."""
    CALLS.clear()
    seen: list[str] = []

    def hybrid(x):
        total = jnp.sum(x)
        seen.append(type(total).__name__)
        return describe(total), total * 2

    def outer(x):
        return helper(x)

    def helper(x):
        return hybrid(x)

    for fn in (hybrid, outer):
        seen.clear()
        jitted = jit(fn)
        x = jnp.arange(4.0)
        assert jitted(x)[0] == "value=6.0" and jitted(x + 1)[0] == "value=10.0"
        assert seen == ["ArrayImpl", "ArrayImpl"]  # once per call, never a tracer
        stats = get_jit_stats(jitted)
        assert stats["mode"] == "orchestration"
        assert any("calls op describe (seen in its code" in f for f in stats["fallbacks"])


def test_grad_of_a_function_calling_an_op_under_jit_runs_its_glue_once_per_call():
    seen: list[int] = []

    def loss(w, t):
        seen.append(1)
        return jnp.sum((w * float(describe(1.0)[6:]) - t) ** 2)

    from ember.xcs import grad

    jitted = jit(lambda w, t: grad(loss)(w, t))
    w, t = jnp.ones(3), jnp.zeros(3)
    np.testing.assert_allclose(jitted(w, t), grad(loss)(w, t))
    assert len(seen) == 2  # jitted once, plain once: JAX's trial trace did not run it


NAMESPACE = types.SimpleNamespace(label=describe)


def test_op_reached_while_jax_traces_switches_to_orchestration_without_running_it():
    CALLS.clear()

    def hybrid(x):
        total = jnp.sum(x)
        return NAMESPACE.label(total), total * 2  # not seen in the code: found by JAX

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
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "orchestration"
    # The fallback names the line JAX could not trace (the `if` on a traced value).
    line = branchy.__code__.co_firstlineno + 1
    assert any(f"{__file__}:{line}" in f for f in stats["fallbacks"]), stats["fallbacks"]


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


class _Recorder:
    def __init__(self):
        self.events = []

    def on_graph_start(self, name):
        self.events.append(("start", name))

    def on_graph_end(self, name, seconds, error):
        self.events.append(("end", name, type(error).__name__ if error else None))

    def on_node_start(self, event):
        self.events.append(("node", event.name))


def test_tensor_mode_calls_send_graph_start_and_end_to_hooks():
    from ember.xcs import Config, register_hook, unregister_hook

    recorder, everywhere = _Recorder(), _Recorder()

    def scaled(x):
        return jnp.tanh(x) * 2.0

    jitted = jit(scaled, config=Config(hooks=[recorder]))
    register_hook(everywhere)
    try:
        for step in range(3):  # the first call, then the fast path
            np.testing.assert_allclose(jitted(jnp.ones(3) * step),
                                       jnp.tanh(jnp.ones(3) * step) * 2.0, rtol=1e-6)
    finally:
        unregister_hook(everywhere)
    assert get_jit_stats(jitted)["mode"] == "tensor"
    name = scaled.__qualname__
    assert recorder.events == [("start", name), ("end", name, None)] * 3
    assert everywhere.events == recorder.events
    jitted(jnp.ones(2))
    assert len(everywhere.events) == 6  # unregistered: no more events
    assert len(recorder.events) == 8
