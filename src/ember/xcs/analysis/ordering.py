"""The order a graph's nodes keep besides their data edges: effects run in program order.

A scheduler may run a node as soon as its inputs exist, except where the node acts on
something its inputs do not show. An effect (``@op(effect=True)``) runs alone and in
program order, as under ``@jit`` (where the glue waits for it): after every node
before it has finished, and not at all if one of them failed (plain Python would
never have reached it); and every node after it starts once it has finished.

``run_after`` gives those extra edges; the schedulers add them to the data edges, and
``analysis.dependencies`` counts them.

Example:
    >>> from ember.xcs.ir import GraphBuilder, NodeKind
    >>> builder = GraphBuilder()
    >>> for name in ("a", "b"):
    ...     _ = builder.add(NodeKind.OP, name, (), (), fn=None, location=None)
    >>> _ = builder.add(NodeKind.OP, "send", (), (), fn=None, location=None, effect=True)
    >>> _ = builder.add(NodeKind.OP, "c", (), (), fn=None, location=None)
    >>> run_after(builder.build())
    {0: (), 1: (), 2: (0, 1), 3: (2,)}
"""

from __future__ import annotations

from ember.xcs.ir.graph import Graph

__all__ = ["run_after"]


def run_after(graph: Graph) -> dict[int, tuple[int, ...]]:
    """For each node id (barriers left out), the earlier nodes it must wait for besides
    the producers of its inputs (see the module docstring).

    An effect waits for the nodes since the effect before it and for that effect, which
    waited for the ones before: every earlier node, with one edge per node in all.
    """
    after: dict[int, tuple[int, ...]] = {}
    last_effect: int | None = None
    since: list[int] = []
    for node in graph.nodes:
        if node.output is None:
            continue
        waits = [] if last_effect is None else [last_effect]
        if node.effect:
            waits += since
            last_effect, since = node.id, []
        else:
            since.append(node.id)
        after[node.id] = tuple(waits)
    return after
