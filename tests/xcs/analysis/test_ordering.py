from __future__ import annotations

import operator

from ember.xcs.analysis.ordering import ordering, run_after
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


def _queue_graph(with_effect: bool = False):
    """q = make(); s = summarize(q); q.pop(); t = join(q); [send()]"""
    b = GraphBuilder()
    q = b.add(NodeKind.OP, "make", (), (), fn=None, location=None).output
    b.add(NodeKind.OP, "summarize", (q,), (), fn=None, location=None)
    if with_effect:
        b.add(NodeKind.OP, "send", (), (), fn=None, location=None, effect=True)
    pop = b.add(NodeKind.LIFTED, "getattr", (q, "pop"), (), fn=getattr, location=None).output
    b.add(NodeKind.LIFTED, "call", (pop,), (), fn=None, location=None, mutates=True)
    b.add(NodeKind.OP, "join", (q,), (), fn=None, location=None)
    return b.build()


def test_a_change_waits_for_earlier_uses_and_later_uses_wait_for_it() -> None:
    order = ordering(_queue_graph())
    assert order.after == {0: (), 1: (), 2: (), 3: (1, 2), 4: (3,)}
    assert order.changes[4] == (3,)  # join must see the pop
    assert order.changes[1] == ()
    assert order.reaching([0]) == {3}  # q as an output shows the pop


def test_a_value_read_from_another_shares_its_objects() -> None:
    b = GraphBuilder()
    r = b.add(NodeKind.OP, "make", (), (), fn=None, location=None).output
    items = b.add(NodeKind.LIFTED, "getitem", (r, "items"), (), fn=operator.getitem,
                  location=None).output
    append = b.add(NodeKind.LIFTED, "getattr", (items, "append"), (), fn=getattr,
                   location=None).output
    b.add(NodeKind.LIFTED, "call", (append, 1), (), fn=None, location=None, mutates=True)
    b.add(NodeKind.OP, "use", (r,), (), fn=None, location=None)
    order = ordering(b.build())
    assert order.roots[items.id] == frozenset({r.id})
    assert order.after[4] == (3,)  # r["items"].append(1) changed r


def test_after_an_effect_a_change_waits_for_the_effect_only() -> None:
    order = ordering(_queue_graph(with_effect=True))
    assert order.after[2] == (0, 1)  # the effect
    assert order.after[4] == (2, 3)  # the pop: the effect (which waited for summarize)
