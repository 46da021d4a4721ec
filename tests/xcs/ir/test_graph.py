from __future__ import annotations

import dataclasses

import pytest

from ember.xcs.ir import Graph, GraphBuilder, Node, NodeKind, Var, iter_vars, map_vars


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


def test_pytree_helpers() -> None:
    tree = {"x": [Var(1), (Var(2), 3)], "y": {Var(4)}}
    assert sorted(v.id for v in iter_vars(tree)) == [1, 2, 4]
    mapped = map_vars(tree, lambda v: v.id * 10)
    assert mapped == {"x": [10, (20, 3)], "y": {40}}


def test_node_defaults() -> None:
    node = Node(0, NodeKind.LIFTED, "getitem")
    assert node.args == () and node.kwargs == () and node.output is None
