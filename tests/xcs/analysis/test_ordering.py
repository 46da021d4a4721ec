from __future__ import annotations

import operator

from ember.xcs.analysis.ordering import run_after
from ember.xcs.ir import GraphBuilder, NodeKind


def test_nodes_without_effects_run_after_nothing_but_their_inputs() -> None:
    b = GraphBuilder()
    a = b.add(NodeKind.OP, "a", (), (), fn=None, location=None)
    b.add(NodeKind.LIFTED, "getitem", (a.output, "k"), (), fn=operator.getitem, location=None)
    b.add(NodeKind.BARRIER, "bool", (a.output,), (), fn=None, location=None)
    assert run_after(b.build()) == {0: (), 1: ()}  # barriers produce nothing: left out


def test_an_effect_runs_after_every_earlier_node_and_before_every_later_one() -> None:
    b = GraphBuilder()
    a = b.add(NodeKind.OP, "a", (), (), fn=None, location=None)
    b.add(NodeKind.LIFTED, "getitem", (a.output, "k"), (), fn=operator.getitem, location=None)
    b.add(NodeKind.OP, "send", (), (), fn=None, location=None, effect=True)
    b.add(NodeKind.OP, "c", (), (), fn=None, location=None)
    b.add(NodeKind.OP, "log", (), (), fn=None, location=None, effect=True)
    b.add(NodeKind.OP, "d", (), (), fn=None, location=None)
    # the second effect waits for the first and what came since (the first waited for
    # the rest): one edge per node
    assert run_after(b.build()) == {0: (), 1: (), 2: (0, 1), 3: (2,), 4: (2, 3), 5: (4,)}
