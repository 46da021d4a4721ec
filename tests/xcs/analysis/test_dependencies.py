from __future__ import annotations

from ember.xcs.analysis.dependencies import levels, op_dependencies, parallel_groups
from ember.xcs.ir import Graph, GraphBuilder, NodeKind

from ._graphs import diamond_with_lifted


def test_levels_see_through_lifted_nodes() -> None:
    graph = diamond_with_lifted()
    assert op_dependencies(graph)[2] == {0}  # left reads top through the lifted getitem
    assert levels(graph) == {0: 0, 2: 1, 3: 1, 4: 2, 5: 0}
    assert parallel_groups(graph) == ((0, 5), (2, 3), (4,))


def test_a_barrier_makes_later_nodes_wait_for_the_ops_behind_it() -> None:
    b = GraphBuilder()
    first = b.add(NodeKind.OP, "first", (), (), fn=None, location=None)
    b.add(NodeKind.OP, "other", (), (), fn=None, location=None)
    b.add(NodeKind.BARRIER, "if", (first.output,), (), fn=None, location=None)
    b.add(NodeKind.OP, "after", (), (), fn=None, location=None)
    graph = b.build()
    assert op_dependencies(graph)[3] == {0}  # waits for first, not for other
    assert levels(graph) == {0: 0, 1: 0, 3: 1}


def test_an_effect_op_waits_for_every_op_issued_before_it_and_later_ops_for_it() -> None:
    b = GraphBuilder()
    b.add(NodeKind.OP, "a", (), (), fn=None, location=None)
    b.add(NodeKind.OP, "b", (), (), fn=None, location=None)
    b.add(NodeKind.OP, "write", (), (), fn=None, location=None, effect=True)
    b.add(NodeKind.OP, "c", (), (), fn=None, location=None)
    graph = b.build()
    assert op_dependencies(graph)[2] == {0, 1}
    assert op_dependencies(graph)[3] == {2}  # as the schedulers run it (plain Python: after)
    assert parallel_groups(graph) == ((0, 1), (2,), (3,))


def test_an_empty_graph_has_no_levels() -> None:
    assert levels(Graph(nodes=())) == {}
    assert parallel_groups(Graph(nodes=())) == ()
