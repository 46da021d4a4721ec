"""The reference interpreter: program order, values by Var id, barriers skipped."""

from __future__ import annotations

import operator

import pytest

from ember.xcs.engine.reference import call_node, eval_graph
from ember.xcs.errors import GraphError
from ember.xcs.ir import GraphBuilder, NodeKind
from ember.xcs.ops import Op


def test_runs_nodes_in_program_order_with_inputs():
    order = []

    def record(name, value):
        order.append(name)
        return value

    builder = GraphBuilder()
    x = builder.add_input("x")
    a = builder.add(NodeKind.OP, "a", ("a", x), (), fn=Op(record), location=None)
    b = builder.add(NodeKind.LIFTED, "add", (a.output, 10), (), fn=operator.add, location=None)
    builder.add(NodeKind.BARRIER, "bool", (b.output,), (), fn=None, location=None)
    c = builder.add(NodeKind.OP, "c", ("c",), (("value", [b.output, x]),), fn=Op(record),
                    location=None)
    env = eval_graph(builder.build(c.output), {x: 1})
    assert order == ["a", "c"]
    assert env[a.output.id] == 1
    assert env[b.output.id] == 11
    assert env[c.output.id] == [11, 1]


def test_missing_input_names_it():
    builder = GraphBuilder()
    builder.add_input("query")
    with pytest.raises(GraphError, match="query"):
        eval_graph(builder.build(), {})


def test_failure_propagates_unchanged_and_stops():
    ran = []

    def fail():
        raise KeyError("boom")

    builder = GraphBuilder()
    builder.add(NodeKind.OP, "fail", (), (), fn=Op(fail), location=None)
    builder.add(NodeKind.OP, "after", (), (), fn=Op(lambda: ran.append(1)), location=None)
    with pytest.raises(KeyError, match="boom"):
        eval_graph(builder.build(), {})
    assert ran == []


def test_call_node_without_function_is_a_graph_error():
    builder = GraphBuilder()
    node = builder.add(NodeKind.LIFTED, "nothing", (), (), fn=None, location=None)
    with pytest.raises(GraphError, match="nothing"):
        call_node(node, (), {})
