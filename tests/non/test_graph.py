"""``build_graph`` and ``NonGraph``."""

from __future__ import annotations

import pytest

from ember.non import NonGraph, NonSpecError, build_graph
from ember.operators import Judge, MostCommon


def test_string_and_list_specs_build_the_same_graph():
    text = build_graph("3E@simulated/a(temp=0.5, max_tokens=8); 1J@simulated/j")
    listed = build_graph(["3E@simulated/a(temp=0.5, max_tokens=8)", "1J@simulated/j"])
    expected = "3E@simulated/a(temperature=0.5, max_tokens=8), J@simulated/j"
    assert text.spec == listed.spec == expected
    assert isinstance(text, NonGraph) and isinstance(text.reducer, Judge)
    assert repr(text).startswith("NonGraph(")


def test_several_ensembles_are_concatenated():
    graph = build_graph(["2E@simulated/a", "1E@simulated/b", "M"])
    assert [m.model_id for m in graph.members] == ["simulated/a"] * 2 + ["simulated/b"]
    assert isinstance(graph.reducer, MostCommon)


def test_single_replica_returns_its_answer_and_errors_are_clear():
    assert build_graph(["E@simulated/a"])("q").startswith("[simulated]")
    with pytest.raises(NonSpecError, match="at least one node"):
        build_graph([])
    with pytest.raises(NonSpecError, match="unique"):
        build_graph(["E!x@simulated/a", "J!x@simulated/j"])


def _shape(graph: NonGraph) -> list[tuple[object, ...]]:
    return [(n.id, n.type, n.count, n.model, dict(n.params)) for n in graph.nodes]


def test_separators_inside_quoted_values_are_kept():
    node = '3E@simulated/a(system="Step 1; then step 2\nand 3, done", stop=";")'
    graph = build_graph(node + "; 1M\n")
    assert _shape(graph) == _shape(build_graph([node, "1M"]))
    assert dict(graph.nodes[0].params) == {"system": "Step 1; then step 2\nand 3, done",
                                           "stop": ";"}
    assert len(graph.nodes) == 2


@pytest.mark.parametrize(
    "nodes",
    [
        ['3E@simulated/a(temp=0.7, max_tokens=8, stop=["x", "y"])', "1M"],
        ['2E!fast@simulated/a(system="it\'s a \\"test\\"; ok", seed=3)', "J!pick@simulated/j"],
        ['E@simulated/a(stop=["a\\"b", "c,d"], top_p=1.0, latency=0.0)', "V@simulated/v"],
        ["2E@simulated/a(temp=0)", "1E@simulated/b(system='a (b), c')", "M"],
    ],
)
def test_spec_round_trips_through_build_graph(nodes):
    graph = build_graph(nodes)
    again = build_graph(graph.spec)
    assert _shape(again) == _shape(graph)
    assert again.spec == graph.spec
    assert [type(v) for v in again.nodes[0].params.values()] == [
        type(v) for v in graph.nodes[0].params.values()
    ]


def test_nested_groups_and_references_are_spliced_in_order():
    graph = build_graph([["2E@simulated/a", "1E@simulated/b"], "$c", "M"],
                        components={"c": "E@simulated/c", "unused": "J@simulated/j"})
    assert [m.model_id for m in graph.members] == ["simulated/a"] * 2 + ["simulated/b",
                                                                           "simulated/c"]
    assert graph.spec == "2E@simulated/a, 1E@simulated/b, 1E@simulated/c, M"
    assert build_graph(graph.spec).spec == graph.spec
    judged = build_graph("3E@simulated/a; $j", components={"j": "J@simulated/j"})
    assert judged.spec == "3E@simulated/a, J@simulated/j"
    reused = build_graph(["$g", "M"], components={"g": build_graph(["2E@simulated/a"])})
    assert reused.spec == "2E@simulated/a, M"


@pytest.mark.parametrize("spec, components, message", [
    (["$x", "M"], None, "no component named 'x'"),
    (["$a"], {"a": ["$b"], "b": "$a"}, r"\$a -> \$b -> \$a"),
])
def test_bad_references_say_what_is_wrong(spec, components, message):
    with pytest.raises(NonSpecError, match=message):
        build_graph(spec, components=components)


def test_a_graph_needs_one_question():
    graph = build_graph(["E@simulated/a"])
    with pytest.raises(TypeError, match="once"):
        graph("q", inputs={"query": "q"})
    with pytest.raises(TypeError, match="needs a question"):
        graph()
