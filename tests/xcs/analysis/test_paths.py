from __future__ import annotations

import pytest

from ember.xcs.analysis.paths import critical_path
from ember.xcs.ir import Graph, GraphBuilder, NodeKind

from ._graphs import diamond_with_lifted


def test_without_durations_every_op_weighs_one() -> None:
    assert critical_path(diamond_with_lifted()) == (3.0, (0, 2, 4))


def test_critical_path_uses_measured_durations() -> None:
    length, path = critical_path(diamond_with_lifted(),
                                 {0: 0.1, 2: 0.05, 3: 0.3, 4: 0.1, 5: 0.2})
    assert length == pytest.approx(0.5) and path == (0, 3, 4)


def test_an_op_without_a_measured_duration_weighs_nothing() -> None:
    length, path = critical_path(diamond_with_lifted(), {5: 0.2})
    assert (length, path) == (0.2, (5,))


def test_equal_chains_go_through_the_earlier_node() -> None:
    b = GraphBuilder()
    first = b.add(NodeKind.OP, "first", (), (), fn=None, location=None)
    second = b.add(NodeKind.OP, "second", (), (), fn=None, location=None)
    b.add(NodeKind.OP, "join", (first.output, second.output), (), fn=None, location=None)
    assert critical_path(b.build()) == (2.0, (0, 2))


def test_a_graph_without_ops_has_an_empty_path() -> None:
    assert critical_path(Graph(nodes=())) == (0.0, ())
