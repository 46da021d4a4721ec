"""Which ops each node of a ``Graph`` waits for, and the levels that follow from it.

Lifted nodes are looked through (an op that reads ``x["k"]`` waits for the op behind
``x``); a barrier makes everything issued after it wait for the ops behind its value;
and a node waits for what ``ordering.run_after`` says it runs after (an effect op for
every op issued before it, and every later op for it).

Example:
    >>> from ember.xcs.ir import GraphBuilder, NodeKind
    >>> builder = GraphBuilder()
    >>> a, b = (builder.add(NodeKind.OP, name, (), (), fn=None, location=None)
    ...         for name in "ab")
    >>> c = builder.add(NodeKind.OP, "c", (a.output, b.output), (), fn=None, location=None)
    >>> graph = builder.build()
    >>> op_dependencies(graph), levels(graph), parallel_groups(graph)
    ({0: set(), 1: set(), 2: {0, 1}}, {0: 0, 1: 0, 2: 1}, ((0, 1), (2,)))
"""

from __future__ import annotations

from ember.xcs.analysis.ordering import run_after
from ember.xcs.ir.graph import Graph, NodeKind

__all__ = ["levels", "op_dependencies", "parallel_groups"]


def op_dependencies(graph: Graph) -> dict[int, set[int]]:
    """For each node id, the ids of the op nodes it must wait for.

    Data dependencies are followed through lifted nodes. A barrier adds control
    dependencies: the glue stopped there until the ops behind its input finished, so
    every node issued after it depends on those ops too. So do the nodes a node runs
    after (``run_after``): effects keep program order.
    """
    producers = graph.producers
    by_id = {node.id: node for node in graph.nodes}
    after = run_after(graph)
    direct: dict[int, set[int]] = {}
    waited: set[int] = set()
    for node in graph.nodes:
        found: set[int] = set(waited)
        needed = [producers.get(var.id) for var in node.inputs]
        needed += [by_id[i] for i in after.get(node.id, ())]
        for producer in needed:
            if producer is None:
                continue
            if producer.is_op:
                found.add(producer.id)
            else:
                found |= direct.get(producer.id, set())
        direct[node.id] = found
        if node.kind is NodeKind.BARRIER:
            waited = found
    return direct


def levels(graph: Graph) -> dict[int, int]:
    """The level of every op node: 1 + the highest level among the ops it needs."""
    waits_for = op_dependencies(graph)
    result: dict[int, int] = {}
    for node in graph.nodes:
        if node.is_op:
            result[node.id] = 1 + max((result[i] for i in waits_for[node.id]), default=-1)
    return result


def parallel_groups(graph: Graph) -> tuple[tuple[int, ...], ...]:
    """Op node ids grouped by level, in level order: each group can run at once."""
    by_level: dict[int, list[int]] = {}
    for node_id, level in levels(graph).items():
        by_level.setdefault(level, []).append(node_id)
    return tuple(tuple(by_level[level]) for level in sorted(by_level))
