"""pyember's analysis names (``OpKind``, ``Traceability``, ``EffectRisk``, ``OpDecision``,
``analyze_operations_v2``) and marks (``mark_hybrid``, ``mark_pytree_safe``).

Written from pyember's documented API (its ``ember.xcs.__all__``, its analysis tests and
its JAX-XCS example), and checked against what our engine then does: a decision that
says "JAX" must be a function ``jit`` sends to ``jax.jit``, one that says an op is
ordered must be ordered, and so on.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ember.api.xcs
import ember.xcs
from ember.api import mark_hybrid as api_mark_hybrid
from ember.api import models
from ember.api import op as api_op
from ember.api.operators import Operator
from ember.xcs import (
    EffectRisk,
    OpDecision,
    OpKind,
    Traceability,
    analyze_operations_v2,
    get_jit_stats,
    grad,
    jit,
    mark_hybrid,
    mark_pytree_safe,
    mark_tensor,
    op,
)

PYEMBER_NAMES = ("OpKind", "Traceability", "EffectRisk", "OpDecision", "analyze_operations_v2")


@op
def summarize(text):
    return text.split(".")[0]


@op(effect=True)
def save(record):
    return record


@mark_tensor
def energy(x):
    return jnp.sum(x * x)


@op
def noisy(text):
    print("noisy:", text)
    return text


# -- the names ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", [ember.xcs, ember.api.xcs])
def test_names_are_exported(module):
    for name in (*PYEMBER_NAMES, "mark_hybrid", "mark_pytree_safe"):
        assert name in module.__all__ and getattr(module, name) is getattr(ember.xcs, name)
    assert api_mark_hybrid is mark_hybrid


def test_enum_members_are_pyembers():
    assert [m.name for m in OpKind] == ["TENSOR", "ORCHESTRATION", "HYBRID", "NEUTRAL", "UNKNOWN"]
    assert [m.name for m in Traceability] == ["JAX", "NON_JAX", "UNKNOWN"]
    assert [m.name for m in EffectRisk] == ["LOW", "MEDIUM", "HIGH"]


def test_op_decision_fields_defaults_and_properties():
    decision = OpDecision(kind=OpKind.TENSOR)
    assert (decision.jax_traceable, decision.effect_risk, decision.confidence) == (
        Traceability.UNKNOWN, EffectRisk.LOW, 0.0)
    assert decision.tensor_evidence == decision.orchestration_evidence == frozenset()
    assert decision.effect_evidence == frozenset() and decision.reason == ""
    assert decision.is_tensor and not (decision.is_orchestration or decision.is_hybrid
                                       or decision.is_neutral or decision.is_unknown)
    traced = OpDecision(OpKind.TENSOR, Traceability.JAX)
    assert traced.can_jax_trace and not traced.should_use_orchestration_path
    assert not OpDecision(OpKind.TENSOR, Traceability.JAX, EffectRisk.HIGH).can_jax_trace
    for kind in (OpKind.ORCHESTRATION, OpKind.HYBRID, OpKind.UNKNOWN):
        assert OpDecision(kind).should_use_orchestration_path
    assert not OpDecision(OpKind.NEUTRAL).should_use_orchestration_path
    # Ours: anything XCS does not hand to JAX runs on its engine, tensor ops included.
    assert OpDecision(OpKind.TENSOR, Traceability.NON_JAX).should_use_orchestration_path
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.kind = OpKind.HYBRID  # type: ignore[misc]


def test_not_callable_is_a_type_error():
    with pytest.raises(TypeError, match="needs a callable"):
        analyze_operations_v2(42)  # type: ignore[arg-type]


# -- ops: their metadata, and what the engine does with them --------------------------------


def test_an_op_is_orchestration_that_jax_never_traces():
    decision = analyze_operations_v2(summarize)
    assert decision.kind is OpKind.ORCHESTRATION and decision.confidence == 1.0
    assert decision.jax_traceable is Traceability.NON_JAX and not decision.can_jax_trace
    assert decision.effect_risk is EffectRisk.LOW
    assert decision.orchestration_evidence == {"op 'summarize'"}
    assert decision.should_use_orchestration_path and "concurrently" in decision.reason


def test_pyember_op_decorator_gives_an_op_decision():
    @api_op
    def pure_computation(x: int) -> int:
        return x * x + x

    decision = analyze_operations_v2(pure_computation)
    assert decision.kind is OpKind.ORCHESTRATION
    assert decision.orchestration_evidence == {"op 'pure_computation'"}
    # pyember's example prints these; they read as enums
    assert f"{decision.kind}" == "OpKind.ORCHESTRATION"
    assert f"{decision.jax_traceable}" == "Traceability.NON_JAX"


def test_a_tensor_op_is_tensor_work_that_still_runs_on_the_engine():
    decision = analyze_operations_v2(energy)
    assert decision.kind is OpKind.TENSOR and decision.jax_traceable is Traceability.NON_JAX
    assert decision.should_use_orchestration_path and not decision.can_jax_trace
    # True of the engine: jit does not hand it to JAX. grad differentiates through a
    # tensor op's body (tensor code), as jax.grad does through the plain function.
    jitted = jit(energy)
    assert float(jitted(jnp.ones(3))) == 3.0
    assert get_jit_stats(jitted)["mode"] == "orchestration"
    np.testing.assert_allclose(grad(energy)(jnp.ones(3)), jax.grad(energy.body)(jnp.ones(3)))


def test_an_effect_op_is_high_risk_and_runs_in_program_order():
    decision = analyze_operations_v2(save)
    assert decision.effect_risk is EffectRisk.HIGH and "program order" in decision.reason
    assert decision.effect_evidence == {"op 'save': effect=True"}
    # True of the engine: the slow op issued first finishes before the effect starts.
    events = []

    @op
    def slow(x):
        time.sleep(0.05)
        events.append("slow")
        return x

    @op(effect=True)
    def write(x):
        events.append("write")
        return x

    assert jit(lambda x: [slow(x), write(x)])(1) == [1, 1]
    assert events == ["slow", "write"]
    caller = analyze_operations_v2(lambda x: [slow(x), write(x)])
    assert caller.effect_risk is EffectRisk.HIGH and caller.kind is OpKind.ORCHESTRATION


def test_an_op_body_with_side_effects_is_medium_risk_because_ops_overlap():
    decision = analyze_operations_v2(noisy)
    assert decision.effect_risk is EffectRisk.MEDIUM
    assert decision.effect_evidence == {"print: builtin with side effects"}
    assert "effect=True" in decision.reason
    # True of the engine: two calls of the op are in flight at the same time.
    lock, running, peak = threading.Lock(), [0], [0]

    @op
    def overlapping(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return x

    assert jit(lambda: [overlapping(1), overlapping(2)])() == [1, 2]
    assert peak[0] == 2


def test_model_calls_and_leaf_operators():
    decision = analyze_operations_v2(models)
    assert decision.kind is OpKind.ORCHESTRATION and decision.confidence == 1.0
    assert decision.jax_traceable is Traceability.NON_JAX

    class Shout(Operator):
        leaf = True

        def forward(self, text):
            return text.upper()

    leaf = analyze_operations_v2(Shout())
    assert leaf.orchestration_evidence == {"op 'Shout'"} and leaf.confidence == 1.0


# -- functions: their code, then their measured runs -----------------------------------------


def test_jax_code_is_tensor_and_jit_hands_it_to_jax():
    def normalize(x):
        return x / jnp.linalg.norm(x)

    before = analyze_operations_v2(normalize)
    assert before.kind is OpKind.TENSOR and before.jax_traceable is Traceability.JAX
    assert before.can_jax_trace and not before.should_use_orchestration_path
    assert before.tensor_evidence == {"jnp: module jax.numpy"} and before.confidence == 0.8
    jitted = jit(normalize)
    jitted(jnp.ones(4))
    assert get_jit_stats(jitted)["mode"] == "tensor"
    after = analyze_operations_v2(jitted)
    assert after.kind is OpKind.TENSOR and after.confidence == 1.0
    assert after.reason.startswith("measured: its 1 call(s) so far ran under jax.jit")


def test_numpy_code_is_not_jax_traceable_and_jit_falls_back():
    def total(x):
        return np.sum(np.asarray(x))

    decision = analyze_operations_v2(total)
    assert decision.kind is OpKind.TENSOR and decision.jax_traceable is Traceability.NON_JAX
    assert decision.should_use_orchestration_path
    jitted = jit(total)
    assert float(jitted(jnp.ones(3))) == 3.0
    stats = get_jit_stats(jitted)
    assert stats["mode"] == "orchestration"
    assert any("JAX could not trace it" in reason for reason in stats["fallbacks"])


def test_print_in_tensor_code_is_medium_risk_and_keeps_the_function_off_jax_jit(capsys):
    def loud(x):
        print("computing")
        return jnp.sum(x)

    decision = analyze_operations_v2(loud)
    assert decision.effect_risk is EffectRisk.MEDIUM and not decision.can_jax_trace
    assert decision.jax_traceable is Traceability.NON_JAX
    assert "only while JAX traces" in decision.reason and "plain Python" in decision.reason
    jitted = jit(loud)
    jitted(jnp.ones(2))
    jitted(jnp.ones(2))
    assert capsys.readouterr().out.count("computing") == 2  # as plain Python: every call
    assert get_jit_stats(jitted)["mode"] == "orchestration"


def test_side_effects_are_told_from_pure_uses_of_the_same_library(tmp_path):
    import os
    import pathlib
    import subprocess

    def join(name):
        return os.path.join(str(tmp_path), name)

    def read(name):
        return pathlib.Path(name).read_text()

    def delete(name):
        os.remove(name)

    def write(name):
        pathlib.Path(name).write_text("x")

    def run(command):
        return subprocess.run(command, check=False)

    for pure in (join, read):
        assert analyze_operations_v2(pure).effect_risk is EffectRisk.LOW, pure.__name__
    assert analyze_operations_v2(delete).effect_evidence == {"os: module os (remove)"}
    assert analyze_operations_v2(write).effect_evidence == {"pathlib: module pathlib (write_text)"}
    assert analyze_operations_v2(run).effect_evidence == {
        "subprocess: module subprocess (side effects)"}
    for effectful in (delete, write, run):
        assert analyze_operations_v2(effectful).effect_risk is EffectRisk.MEDIUM


def test_a_function_calling_ops_is_orchestration_for_the_engine():
    def pipeline(question):
        draft = summarize(question)
        reply = models("simulated/writer", question)
        return [summarize(text) for text in (draft, reply)]  # a comprehension: nested code

    decision = analyze_operations_v2(pipeline)
    assert decision.kind is OpKind.ORCHESTRATION
    assert decision.orchestration_evidence == {
        "summarize: op 'summarize'", "models: model calls (each call is an op)"}
    assert decision.jax_traceable is Traceability.NON_JAX
    assert decision.should_use_orchestration_path and decision.confidence == 0.8


def test_ops_reached_through_helpers_operators_and_partials_are_found():
    def ask(question):
        return models("simulated/helper", question)

    def outer(question):
        return ask(question)

    found = analyze_operations_v2(outer)
    assert found.orchestration_evidence == {"ask → models: model calls (each call is an op)"}
    assert analyze_operations_v2(functools.partial(outer, "q")).kind is OpKind.ORCHESTRATION

    class Panel(Operator):
        def __init__(self, members):
            self.members = members

        def forward(self, question):
            return [member(question) for member in self.members]

    panel = analyze_operations_v2(Panel([summarize, save]))
    assert panel.orchestration_evidence == {"self.members: op 'summarize'",
                                            "self.members: op 'save'"}
    assert panel.effect_risk is EffectRisk.HIGH


def test_hybrid_code_is_hybrid_and_jit_moves_it_to_the_engine_at_the_first_op():
    def scored(x):
        return jnp.tanh(energy(x)), summarize("It works. Really.")

    before = analyze_operations_v2(scored)
    assert before.kind is OpKind.HYBRID and before.jax_traceable is Traceability.NON_JAX
    assert before.tensor_evidence == {"jnp: module jax.numpy", "energy: tensor op 'energy'"}
    jitted = jit(scored)
    value, text = jitted(jnp.ones(2))
    assert text == "It works" and abs(float(value) - float(jnp.tanh(2.0))) < 1e-6
    after = analyze_operations_v2(jitted)
    assert after.kind is OpKind.HYBRID and after.confidence == 1.0
    assert "measured: its last call ran 2 op(s) on the XCS engine" in after.reason
    assert "switched to orchestration mode" in after.reason


def test_ops_passed_in_as_arguments_are_seen_once_the_function_has_run():
    def apply(step, text):
        return step(text)

    assert analyze_operations_v2(apply).kind is OpKind.NEUTRAL  # the code names no op
    jitted = jit(apply)
    jitted(summarize, "One. Two.")
    decision = analyze_operations_v2(jitted)
    assert decision.kind is OpKind.ORCHESTRATION and decision.confidence == 1.0
    assert "measured: 1 op(s) in the last call" in decision.orchestration_evidence


def test_pure_python_is_neutral_and_builtins_are_unknown():
    def simple_math(x, y):
        return x + y

    neutral = analyze_operations_v2(simple_math)
    assert neutral.kind is OpKind.NEUTRAL and neutral.confidence == 0.5
    assert not (neutral.tensor_evidence or neutral.orchestration_evidence)
    assert neutral.jax_traceable is Traceability.UNKNOWN
    unknown = analyze_operations_v2(len)
    assert unknown.kind is OpKind.UNKNOWN and unknown.confidence == 0.0


def test_the_analysis_follows_changed_globals():
    global _step
    _step = str.upper

    def run(text):
        return _step(text)

    assert analyze_operations_v2(run).kind is OpKind.NEUTRAL
    _step = summarize
    assert analyze_operations_v2(run).kind is OpKind.ORCHESTRATION


_step = None


# -- the marks ---------------------------------------------------------------------------------


def test_mark_hybrid_returns_the_function_and_is_reported():
    def embed_and_query(text):
        return len(text)

    assert mark_hybrid(embed_and_query) is embed_and_query and embed_and_query("abc") == 3
    decision = analyze_operations_v2(embed_and_query)
    assert decision.kind is OpKind.HYBRID and decision.confidence == 1.0
    assert "marked (mark_hybrid)" in decision.tensor_evidence
    assert "marked (mark_hybrid)" in decision.orchestration_evidence
    assert decision.reason.startswith("marked hybrid (mark_hybrid)")
    with pytest.raises(TypeError, match="callable"):
        mark_hybrid("not a function")  # type: ignore[type-var]


def test_mark_hybrid_changes_nothing_that_runs():
    def compute(x):
        return jnp.sum(x)

    marked = jit(mark_hybrid(lambda x: jnp.sum(x)))
    plain = jit(compute)
    assert float(marked(jnp.ones(3))) == float(plain(jnp.ones(3))) == 3.0
    assert get_jit_stats(marked)["mode"] == get_jit_stats(plain)["mode"] == "tensor"


def test_mark_pytree_safe_records_the_mark():
    @mark_pytree_safe(False)
    def get_handle(path):
        return path

    @mark_pytree_safe()
    def compute_stats(values):
        return {"mean": sum(values) / len(values)}

    assert get_handle._xcs_is_pytree_safe is False and compute_stats._xcs_is_pytree_safe is True
    assert get_handle("p") == "p" and compute_stats([1, 3]) == {"mean": 2.0}
    with pytest.raises(TypeError, match="bool"):
        mark_pytree_safe("yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        mark_pytree_safe(True)(3)  # type: ignore[type-var]
