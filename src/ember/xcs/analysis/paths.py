"""The critical path of a ``Graph``: its longest chain of ops.

Weighted by measured durations when they are given (a node without one weighs 0), else
by one per op, so that the length is then the number of ops on the chain.
"""

from __future__ import annotations

from collections.abc import Mapping

from ember.xcs.analysis.dependencies import op_dependencies
from ember.xcs.ir.graph import Graph

__all__ = ["critical_path"]


def critical_path(graph: Graph, durations: Mapping[int, float] | None = None
                  ) -> tuple[float, tuple[int, ...]]:
    """The longest chain of op nodes, weighted by ``durations`` (seconds; default 1).

    Args:
        graph: the graph.
        durations: measured seconds per op node id; ``None`` weighs every op 1.

    Returns:
        ``(length, node ids along the path)``; ``(0.0, ())`` for a graph without ops.
        Of chains of equal length, the one through earlier nodes is chosen.

    Example:
        >>> from ember.xcs.ir import GraphBuilder, NodeKind
        >>> builder = GraphBuilder()
        >>> a, b = (builder.add(NodeKind.OP, name, (), (), fn=None, location=None)
        ...         for name in "ab")
        >>> c = builder.add(NodeKind.OP, "c", (b.output,), (), fn=None, location=None)
        >>> critical_path(builder.build(), {0: 0.5, 1: 0.2, 2: 0.2})
        (0.5, (0,))
    """
    waits_for = op_dependencies(graph)
    best: dict[int, tuple[float, int | None]] = {}
    for node in graph.nodes:
        if not node.is_op:
            continue
        weight = durations.get(node.id, 0.0) if durations is not None else 1.0
        longest, via = 0.0, None
        for source in sorted(waits_for[node.id]):  # ties go to the earlier node
            if via is None or best[source][0] > longest:
                longest, via = best[source][0], source
        best[node.id] = (longest + weight, via)
    if not best:
        return 0.0, ()
    end = min(best, key=lambda i: (-best[i][0], i))
    length = best[end][0]
    path: list[int] = []
    cursor: int | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = best[cursor][1]
    return length, tuple(reversed(path))
