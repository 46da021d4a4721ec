"""pyember's NON notation: ``build_graph`` with E, J, M and V nodes."""

from __future__ import annotations

import time

import pytest

from ember.api import non
from ember.operators import Verdict
from ember.xcs import jit


def test_the_headline_spec_parses_and_runs():
    graph = non.build_graph(["5E@simulated/gpt(temp=0.7)", "1J@simulated/claude"])
    assert [(n.type.code, n.count, n.model) for n in graph.nodes] == [
        ("E", 5, "simulated/gpt"), ("J", 1, "simulated/claude")]
    assert dict(graph.nodes[0].params) == {"temperature": 0.7}
    assert len(graph.members) == 5
    assert graph("Capital of France?").startswith("[simulated]")


def test_majority_vote_and_verifier_nodes():
    voted = non.build_graph("3E@simulated/a, 1M")
    assert voted("q").startswith("[simulated]")
    verified = non.build_graph(["2E@simulated/a", "1M", "1V@simulated/checker"])
    verdict = verified("2+2?")
    assert isinstance(verdict, Verdict) and isinstance(verdict.passed, bool)


def test_ensemble_only_returns_every_answer():
    assert len(non.build_graph(["3E@simulated/a"])("q")) == 3


def test_ensemble_replicas_run_concurrently_under_jit():
    graph = non.build_graph(["6E@simulated/a(latency=0.2)", "1M"])
    run = jit(graph)
    run("warm")
    started = time.perf_counter()
    run("q")
    assert time.perf_counter() - started < 0.8  # six 0.2 s calls, not 1.2 s


@pytest.mark.parametrize("spec, message", [
    (["5X@simulated/a"], "unknown type 'X'"),
    (["3J@simulated/a"], "count 1"),
    (["E"], "needs a model"),
    (["1M@simulated/a"], "takes no model"),
    (["1M"], "no ensemble"),
    (["2E@simulated/a", "1M", "1J@simulated/j"], "one M"),
    (["2E@simulated/a(temp)"], "key=value"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(non.NonSpecError, match=message):
        non.build_graph(spec)


def test_legacy_colon_form():
    node = non.parse_node_spec("3:E:simulated:a:0.5")
    assert (node.count, node.model, dict(node.params)) == (3, "simulated/a", {"temperature": 0.5})


def test_pyember_four_part_legacy_form_is_model_and_temperature():
    """pyember's ``count:type:model:temperature`` (its non_compact docstring)."""
    graph = non.build_graph(["3:E:simulated/gpt-4o:1.0", "1:J:simulated/claude:0.0"])
    assert [(n.model, dict(n.params)) for n in graph.nodes] == [
        ("simulated/gpt-4o", {"temperature": 1.0}), ("simulated/claude", {"temperature": 0.0})]
    assert graph("Capital of France?").model_id == "simulated/gpt-4o"
    # pyember's own example: bare names resolve by prefix in the models layer.
    bare = non.build_graph(["3:E:gpt-4o:0.7", "1:J:claude-3-5-sonnet:0.0"])
    assert [m.model_id for m in bare.members] == ["openai/gpt-4o"] * 3
    assert dict(bare.nodes[0].params) == {"temperature": 0.7}
    # the five-part form keeps its meaning
    node = non.parse_node_spec("3:E:simulated:a:0.5")
    assert (node.model, dict(node.params)) == ("simulated/a", {"temperature": 0.5})
    assert non.parse_node_spec("3:E:simulated:a").model == "simulated/a"


def test_components_references_and_inputs_query_call():
    """pyember's ``build_graph(spec, components=...)`` with ``"$name"`` references, and
    ``pipeline(inputs={"query": ...})`` (its non.py and non_compact docstrings)."""
    graph = non.build_graph(["$branch", "1J@simulated/judge"],
                            components={"branch": ["3E@simulated/a(temp=0.7)"]})
    assert graph.spec == "3E@simulated/a(temperature=0.7), J@simulated/judge"
    question = "What is the capital of France?"
    assert graph(inputs={"query": question}) == graph(question)
    assert jit(graph)(inputs={"query": question}) == graph(question)
    sub = {"sub": ["2E@simulated/a(temp=0.0)", "1V@simulated/v(temp=0.0)"]}
    whole = non.build_graph(["$sub"], components=sub)  # a reference that is the whole graph
    assert isinstance(whole(inputs={"query": "2+2?"}), Verdict)
    with pytest.raises(TypeError, match="needs a 'query' field"):
        graph(inputs={"question": question})


def test_a_graph_takes_the_question_as_query_keyword_as_pyember_operators_do():
    """pyember's operators are called with their fields as keywords (its README calls
    ``pipeline(query=...)``); a built graph took only ``graph(question)`` and
    ``inputs=``, so ``graph(query=...)`` raised TypeError."""
    graph = non.build_graph(["3:E:simulated/a:0.7", "1:J:simulated/judge:0.0"])
    question = "What causes the northern lights?"
    assert graph(query=question) == graph(question) == graph(inputs={"query": question})
    assert jit(graph)(query=question) == graph(question)
    assert jit(lambda q: graph(query=q))(question) == graph(question)
    with pytest.raises(TypeError, match="2 times"):
        graph(question, query=question)


def test_parallel_branches_are_refused_with_the_way_to_build_them():
    branches = [["3E@simulated/a", "1V@simulated/v"], ["3E@simulated/b", "1V@simulated/v"],
                "1J@simulated/judge"]
    with pytest.raises(non.NonSpecError, match="parallel branch") as caught:
        non.build_graph(branches)
    assert "Ensemble([build_graph(branch_1), build_graph(branch_2)])" in str(caught.value)
    with pytest.raises(non.NonSpecError, match="parallel branch"):
        non.build_graph(["$b", "1J@simulated/judge"],
                        components={"b": ["2E@simulated/a", "1M"]})


def test_pyember_readme_non_patterns_and_headline_example():
    """pyember's README: "NON Patterns & Ensembling" and the "Simple Example"
    (``Operator[QueryInput, ReasonedOutput]`` with a ``Specification``)."""
    from ember.api.models import EmberModel
    from ember.api.operator import Operator, Specification

    ensemble = non.UniformEnsemble(num_units=5, model_name="simulated:gpt-4o-mini",
                                   temperature=0.7)
    judge = non.JudgeSynthesis(model_name="simulated:claude-3-sonnet", temperature=0.2)
    verifier = non.Verifier(model_name="simulated:claude-3-haiku", temperature=0.0)
    pipeline = non.Sequential(operators=[ensemble, judge, verifier])
    result = pipeline(query="What causes tsunamis?")
    assert result["verdict"] in (True, False) and result["query"] == "What causes tsunamis?"

    class QueryInput(EmberModel):
        query: str

    class ReasonedOutput(EmberModel):
        answer: str
        confidence: float

    class ReasonerSpecification(Specification):
        input_model = QueryInput
        structured_output = ReasonedOutput

    @jit
    class EnsembleReasoner(Operator[QueryInput, ReasonedOutput]):
        specification: Specification = ReasonerSpecification()
        ensemble: non.UniformEnsemble
        judge: non.JudgeSynthesis

        def __init__(self, width: int = 3):
            self.ensemble = non.UniformEnsemble(num_units=width, model_name="simulated/gpt-4o",
                                                temperature=0.7, latency=0.3)
            self.judge = non.JudgeSynthesis(model_name="simulated/claude", temperature=0.2)

        def forward(self, *, inputs: QueryInput) -> ReasonedOutput:
            ensemble_result = self.ensemble(query=inputs.query)
            synthesis = self.judge(query=inputs.query, responses=ensemble_result["responses"])
            return ReasonedOutput(answer=synthesis["final_answer"],
                                  confidence=float(synthesis.get("confidence", 0.0)))

    reasoner = EnsembleReasoner()
    started = time.perf_counter()
    answer = reasoner(query="What causes the northern lights?")
    assert time.perf_counter() - started < 0.7  # three 0.3 s replicas at once, not 0.9 s
    assert isinstance(answer, ReasonedOutput) and answer.answer.startswith("[simulated]")
    assert answer.confidence == 0.0


def test_non_results_read_as_attributes_as_pyember_s_result_models():
    """pyember's NON guide reads results as models (``ensemble_result.responses``,
    ``final_result.final_answer``, ``verification_result.verdict``), also inside
    ``@jit``; ours were plain dicts, so each read raised AttributeError."""
    def robust_qa(question):
        ensemble = non.UniformEnsemble(num_units=3, model_name="simulated/a", temperature=0.7)
        judge = non.JudgeSynthesis(model_name="simulated/judge", temperature=0.1)
        ensemble_results = ensemble(inputs={"query": question})
        final = judge(inputs={"query": question, "responses": ensemble_results.responses})
        checked = non.Verifier(model_name="simulated/v")(
            inputs={"query": question, "candidate_answer": final.final_answer})
        return final.final_answer, checked.verdict, checked.revised_answer

    question = "Explain neural networks simply."
    assert jit(robust_qa)(question) == robust_qa(question)
    voted = non.Sequential(operators=[non.UniformEnsemble(num_units=3, model_name="simulated/a"),
                                      non.MostCommon()])(query=question)
    assert voted.final_answer == voted["final_answer"] and voted == dict(voted)
    assert isinstance(voted, dict) and repr(voted) == repr(dict(voted))
    with pytest.raises(AttributeError, match="no field 'answer'; its fields are 'query', "
                                             "'final_answer'"):
        voted.answer  # noqa: B018


def test_vmap_over_a_non_operator_still_transposes_its_result():
    """``vmap`` transposes a dict result into a dict of lists (docs/transforms.md); the
    NON classes' results became a dict subclass (``NonResult``) and came back as a list
    of per-item dicts instead."""
    from ember.xcs import vmap

    ensemble = non.UniformEnsemble(num_units=2, model_name="simulated/a")
    batched = vmap(ensemble)(["q1", "q2"])
    assert batched == {"query": ["q1", "q2"],
                       "responses": [ensemble("q1")["responses"], ensemble("q2")["responses"]]}
    assert batched.query == ["q1", "q2"] and jit(vmap(ensemble))(["q1", "q2"]) == batched
