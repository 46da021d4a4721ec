"""pyember's NON operator classes (``ember.non.patterns``) over the building blocks."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from ember.api import op
from ember.non import (
    JudgeSynthesis,
    MostCommon,
    Sequential,
    UniformEnsemble,
    VariedEnsemble,
    Verifier,
)
from ember.operators import Ensemble, Judge
from ember.xcs import get_jit_stats, jit
from ember.xcs.errors import XCSError


def test_uniform_ensemble_takes_every_calling_form():
    ensemble = UniformEnsemble(num_units=3, model_name="simulated/a", temperature=0.7,
                               max_tokens=32)
    assert isinstance(ensemble.ensemble, Ensemble)
    by_inputs = ensemble(inputs={"query": "Capital of France?"})
    assert by_inputs["query"] == "Capital of France?" and len(by_inputs["responses"]) == 3
    assert ensemble(query="Capital of France?") == by_inputs
    assert ensemble("Capital of France?") == by_inputs == ensemble({"query": "Capital of France?"})

    class Question(BaseModel):
        query: str

    assert ensemble(Question(query="Capital of France?")) == by_inputs
    assert {r.model_id for r in by_inputs["responses"]} == {"simulated/a"}


def test_provider_colon_model_names_and_bad_settings():
    judge = JudgeSynthesis(model_name="simulated:judge", temperature=0.0)
    assert judge.judge.model.model_id == "simulated/judge"
    with pytest.raises(ValueError, match="num_units"):
        UniformEnsemble(num_units=0, model_name="simulated/a")
    with pytest.raises(ValueError, match="model config"):
        VariedEnsemble(model_configs=["simulated/a"])
    with pytest.raises(TypeError, match="'responses' field"):
        JudgeSynthesis(model_name="simulated/j")(query="q")
    with pytest.raises(TypeError, match="once"):
        UniformEnsemble(num_units=1, model_name="simulated/a")({"query": "q"}, query="q")


def test_reducers_return_pyembers_keys():
    assert MostCommon()(inputs={"query": "q", "responses": ["Paris", "paris", "Lyon"]}) == {
        "query": "q", "final_answer": "Paris"}
    synthesis = JudgeSynthesis(model_name="simulated/judge")(
        query="2+2?", responses=["4", "5"])
    assert synthesis["final_answer"] in ("4", "5")
    assert synthesis["reasoning"].startswith("[simulated]")
    checked = Verifier(model_name="simulated/checker", temperature=0.0)(
        inputs={"query": "2+2?", "final_answer": "4"})
    assert checked["candidate_answer"] == "4" and checked["revised_answer"] is None
    assert checked["verdict"] in (True, False) and checked["explanation"].startswith("[simulated]")
    varied = VariedEnsemble(model_configs=[("simulated/a", 0.2, 16), ["simulated/b", 0.9]])
    assert [r.model_id for r in varied("q")["responses"]] == ["simulated/a", "simulated/b"]


def test_judge_decide_gives_the_pick_and_the_reply():
    judge = Judge("simulated/judge")
    pick, reply = judge.decide("2+2?", ["4", "5"])
    assert pick == judge("2+2?", ["4", "5"]) and reply.startswith("[simulated]")


def test_sequential_pipeline_is_concurrent_under_jit():
    pipeline = Sequential(operators=[
        UniformEnsemble(num_units=5, model_name="simulated/a", latency=0.3),
        JudgeSynthesis(model_name="simulated/judge", temperature=0.2),
        Verifier(model_name="simulated/checker", temperature=0.0),
    ])
    plain = pipeline(query="What causes tsunamis?")
    assert set(plain) == {"query", "candidate_answer", "verdict", "explanation",
                          "revised_answer"}
    fast = jit(pipeline)
    fast(inputs={"query": "warm up"})
    started = time.perf_counter()
    assert fast(inputs={"query": "What causes tsunamis?"}) == plain
    assert time.perf_counter() - started < 0.9  # five 0.3 s replicas at once, not 1.5 s
    assert get_jit_stats(fast)["calls"] == 2
    assert pipeline.operators == pipeline.chain.steps and len(pipeline.operators) == 3


def test_inputs_computed_by_an_op_are_read_when_they_exist():
    @op
    def ask(question):
        return {"query": question.strip()}

    pipeline = Sequential(operators=[ask, UniformEnsemble(num_units=3, model_name="simulated/a"),
                                     MostCommon()])
    expected = pipeline("  Capital of France? ")
    assert expected["query"] == "Capital of France?"
    assert jit(pipeline)("  Capital of France? ") == expected


def test_varied_ensemble_takes_pyembers_lmmoduleconfig_fields():
    # pyember's model_configs held LMModuleConfig(model_name=..., temperature=...,
    # max_tokens=...): the same fields in a mapping or as attributes work too.
    from types import SimpleNamespace

    varied = VariedEnsemble(model_configs=[
        {"model_name": "simulated/a", "temperature": 0.2},
        SimpleNamespace(model_name="simulated/b", temperature=0.9, max_tokens=16),
        ("simulated/c",)])
    assert [r.model_id for r in varied("q")["responses"]] == [
        "simulated/a", "simulated/b", "simulated/c"]
    assert dict(varied.ensemble.members[1].defaults) == {"temperature": 0.9, "max_tokens": 16}
    for bad in ({"model": "simulated/a"}, {"model_name": "simulated/a", "temp": 1}):
        with pytest.raises(ValueError, match="model_name required, no other keys"):
            VariedEnsemble(model_configs=[bad])
    with pytest.raises(ValueError, match="at least one model config"):
        VariedEnsemble(model_configs=[])


def test_sequential_names_the_step_that_is_not_callable():
    # was: "Chain steps must be callable, got int 1." (neither Sequential nor operators)
    with pytest.raises(XCSError, match=r"Sequential: operators\[1\] must be callable .* 'judge'"):
        Sequential(operators=[UniformEnsemble(num_units=2, model_name="simulated/a"), "judge"])
    with pytest.raises(XCSError, match="Sequential: operators must be a non-empty list"):
        Sequential(operators=[])
