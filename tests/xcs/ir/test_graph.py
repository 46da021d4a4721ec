from __future__ import annotations

import dataclasses

import pytest

from ember.xcs.ir import Graph, GraphBuilder, NodeKind


def build_diamond() -> Graph:
    builder = GraphBuilder("diamond")
    q = builder.add_input("q")
    a = builder.add(NodeKind.OP, "llm", (q,), (), fn=None, location=None)
    b = builder.add(NodeKind.OP, "llm", (q,), (), fn=None, location=None)
    c = builder.add(NodeKind.OP, "judge", (a.output, b.output), (), fn=None, location=None)
    return builder.build(c.output)


def test_nodes_and_graphs_are_immutable() -> None:
    graph = build_diamond()
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.nodes[0].name = "other"  # type: ignore[misc]
    assert isinstance(graph.nodes, tuple)


def test_inputs_and_producers() -> None:
    graph = build_diamond()
    judge = graph.nodes[2]
    assert judge.inputs == (graph.nodes[0].output, graph.nodes[1].output)
    assert graph.node_for(judge.output) is judge  # type: ignore[arg-type]
    assert graph.node_for(graph.inputs[0]) is None
    assert len(graph) == 3 and len(graph.op_nodes) == 3


def test_signature_ignores_values_but_not_structure() -> None:
    first = build_diamond()
    assert first.signature == build_diamond().signature
    builder = GraphBuilder()
    q = builder.add_input("q")
    a = builder.add(NodeKind.OP, "llm", (q,), (), fn=None, location=None)
    builder.add(NodeKind.OP, "judge", (a.output,), (), fn=None, location=None)
    assert builder.build().signature != first.signature


def test_barriers_have_no_output() -> None:
    builder = GraphBuilder()
    a = builder.add(NodeKind.OP, "f", (), (), fn=None, location=None)
    barrier = builder.add(NodeKind.BARRIER, "bool", (a.output,), (), fn=None, location=None)
    assert barrier.output is None and not barrier.is_op


def test_graph_module_still_names_the_node_types() -> None:
    from ember.xcs.ir import graph, node

    for name in ("Node", "NodeKind", "SourceLocation", "Var", "iter_vars", "map_vars"):
        assert getattr(graph, name) is getattr(node, name)
