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


def test_a_user_exception_in_tensor_code_has_no_context_plain_python_lacks():
    def lookup(table, key):
        doubled = table * 2
        if key not in ("a", "b"):
            raise KeyError(f"no column {key}")
        return doubled

    jitted = jit(lookup)
    for _ in range(2):  # the first call, and a later one
        with pytest.raises(KeyError, match="no column z") as raised:
            jitted(jnp.ones(2), "z")
        assert raised.value.__context__ is None  # not the error of the tensor attempt
    assert float(jitted(jnp.ones(2), "a")[0]) == 2.0


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


# -- tensor mode only where jax.jit keeps plain Python's meaning -------------------------


def _running_average():
    state = {"mean": jnp.zeros(2), "n": 0}
    history: list = []

    def update(x):
        state["n"] += 1
        state["mean"] = state["mean"] + (x - state["mean"]) / state["n"]
        history.append(x.sum())
        return state["mean"]

    return update, state, history


def test_a_function_keeping_state_runs_plainly_on_every_call():
    plain, plain_state, plain_history = _running_average()
    update, state, history = _running_average()
    jitted = jit(update)
    for value in ([1.0, 1.0], [3.0, 3.0], [5.0, 5.0]):
        np.testing.assert_array_equal(jitted(jnp.array(value)), plain(jnp.array(value)))
    assert state["n"] == plain_state["n"] == 3 and len(history) == len(plain_history) == 3
    assert isinstance(state["mean"], jax.Array)  # a value, never a leaked tracer
    np.testing.assert_array_equal(state["mean"] + 1, jnp.array([4.0, 4.0]))
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "orchestration"
    line = update.__code__.co_firstlineno + 1  # state["n"] += 1
    assert any("runs as plain Python" in f and "reads state (a dict)" in f
               and f"{__file__}:{line}" in f for f in stats["fallbacks"]), stats["fallbacks"]


def test_prints_random_numbers_and_globals_happen_on_every_call(capsys):
    global _TOTAL
    _TOTAL = 0

    def loud(x):
        print("step")
        return x * 2

    def noisy(x):
        return x + np.random.normal(size=x.shape)

    def counting(x):
        global _TOTAL
        _TOTAL += 1
        return x + 1

    for fn in (loud, noisy, counting):
        jitted = jit(fn)
        first, second = jitted(jnp.zeros(2)), jitted(jnp.zeros(2))
        assert get_jit_stats(jitted)["mode"] == "orchestration"
        if fn is noisy:
            assert not np.array_equal(first, second)  # new noise on each call
    assert capsys.readouterr().out == "step\nstep\n"
    assert _TOTAL == 2


_TOTAL = 0


def test_numpy_arguments_keep_numpy_dtypes():
    def running_mean(xs):
        m = 0.0
        for i in range(xs.shape[0]):
            m = m + (xs[i] - m) / (i + 1)
        return m

    def offset_ids(ids):
        return ids + 1

    cases = [(running_mean, np.array([1e8 + 1, 1e8 + 2, 1e8 + 3])),
             (offset_ids, np.array([2**40, 7], dtype=np.int64)),
             (lambda prices: prices.sum(), np.array([0.1] * 10))]
    for fn, argument in cases:
        jitted = jit(fn)
        result = jitted(argument)
        expected = fn(argument)
        assert type(result) is type(expected) and result.dtype == expected.dtype
        np.testing.assert_array_equal(result, expected)
        stats = get_jit_stats(jitted)
        assert stats["mode"] == "orchestration"
        assert any("(numpy.ndarray) holds NumPy data" in f and "jnp.asarray" in f
                   for f in stats["fallbacks"])
    assert jit(offset_ids)(np.array([2**40]))[0] == 2**40 + 1


def test_numpy_arguments_keep_errors_division_and_changes_in_place():
    def pick(scores, i):
        return scores[i]

    def buckets(counts, width):
        return counts // width

    def bump(x):
        x += 1
        return x.sum()

    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        jit(pick)(np.array([0.1, 0.5, 0.9]), 5)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(jit(buckets)(np.array([7, -7]), 0), [0, 0])
    caller = np.zeros(3)
    assert jit(bump)(caller) == 3.0
    np.testing.assert_array_equal(caller, [1.0, 1.0, 1.0])


def test_a_failing_call_runs_the_body_once():
    log: list[str] = []

    def validate_and_scale(x, factor):
        log.append(f"validate {x.shape}")
        if x.ndim != 1:
            raise ValueError(f"expected a vector, got shape {x.shape}")
        return x * factor

    jitted = jit(validate_and_scale)
    np.testing.assert_array_equal(jitted(jnp.ones(3), 2.0), jnp.full(3, 2.0))
    for factor in (2.0, 3.0):
        log.clear()
        with pytest.raises(ValueError, match=r"expected a vector, got shape \(2, 2\)"):
            jitted(jnp.ones((2, 2)), factor)
        assert log == ["validate (2, 2)"]


LAYERS = [jnp.eye(3), 2 * jnp.eye(3)]


def test_pure_jax_code_stays_on_jax_jit():
    def stacked(x):
        outs = []  # built here: changing it is no effect
        for w in LAYERS:
            outs.append(x @ w)
        return jnp.stack(outs)

    def updated(x):
        x += 1  # a JAX array: rebinding, as in plain Python
        return x.at[0].add(10.0)

    def scanned(xs):
        def body(carry, x):
            return carry + x, carry
        return jax.lax.scan(body, 0.0, xs)[0]

    for fn in (stacked, updated, scanned):
        jitted = jit(fn)
        np.testing.assert_allclose(jitted(jnp.arange(3.0)), fn(jnp.arange(3.0)))
        assert get_jit_stats(jitted)["mode"] == "tensor", (fn.__name__, get_jit_stats(jitted))


def test_a_container_argument_the_code_changes_runs_plainly():
    def step(params, grad):
        params["w"] = params["w"] - 0.1 * grad
        return params["w"]

    jitted = jit(step)
    params = {"w": jnp.ones(2)}
    np.testing.assert_allclose(jitted(params, jnp.ones(2)), [0.9, 0.9])
    np.testing.assert_allclose(params["w"], [0.9, 0.9])  # the caller's dict, as plain
    assert get_jit_stats(jitted)["mode"] == "orchestration"
    fallbacks = get_jit_stats(jitted)["fallbacks"]
    assert any("argument 'params' (dict) is mutable" in f for f in fallbacks)


def test_numpy_call_after_tensor_calls_runs_plainly_and_jax_calls_stay_fast():
    def double(x):
        return x * 2

    jitted = jit(double)
    assert isinstance(jitted(jnp.ones(2)), jax.Array)
    result = jitted(np.ones(2, dtype=np.float64))
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    assert isinstance(jitted(jnp.ones(2)), jax.Array)
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "tensor" and stats["calls"] == 3
    assert any(f.startswith("a call ran as plain Python: argument 'x'") for f in stats["fallbacks"])
