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
