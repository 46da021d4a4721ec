from __future__ import annotations

from ember.xcs.analysis import analyze, critical_path, levels, parallel_groups
from ember.xcs.ir import Graph, GraphBuilder, NodeKind


def diamond_with_lifted() -> Graph:
    b = GraphBuilder()
    top = b.add(NodeKind.OP, "top", (), (), fn=None, location=None)
    field = b.add(NodeKind.LIFTED, "getitem", (top.output, "k"), (), fn=None, location=None)
    left = b.add(NodeKind.OP, "left", (field.output,), (), fn=None, location=None)
    right = b.add(NodeKind.OP, "right", (top.output,), (), fn=None, location=None)
    b.add(NodeKind.OP, "bottom", (left.output, right.output), (), fn=None, location=None)
    b.add(NodeKind.OP, "lonely", (), (), fn=None, location=None)
    return b.build()


def test_levels_see_through_lifted_nodes() -> None:
    graph = diamond_with_lifted()
    assert levels(graph) == {0: 0, 2: 1, 3: 1, 4: 2, 5: 0}
    assert parallel_groups(graph) == ((0, 5), (2, 3), (4,))


def test_critical_path_uses_measured_durations() -> None:
    graph = diamond_with_lifted()
    assert critical_path(graph) == (3.0, (0, 2, 4))
    length, path = critical_path(graph, {0: 0.1, 2: 0.05, 3: 0.3, 4: 0.1, 5: 0.2})
    assert round(length, 6) == 0.5 and path == (0, 3, 4)
    assert critical_path(Graph(nodes=())) == (0.0, ())


def test_analysis_summary_and_cache() -> None:
    graph = diamond_with_lifted()
    result, hit = analyze(graph)
    assert (result.width, result.depth) == (2, 3)
    assert result.counts == {"op": 5, "tensor": 0, "lifted": 1, "barrier": 0}
    again, hit_again = analyze(diamond_with_lifted())
    assert hit_again and again is result
    _, uncached = analyze(graph, cache=False)
    assert uncached is False
