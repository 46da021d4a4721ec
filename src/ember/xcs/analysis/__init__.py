"""Analysis: pure functions over a ``Graph`` (levels, groups, critical path, reports).

Results depend only on the graph's structure (and, for the critical path, on measured
node durations), so ``analyze`` caches them per structure signature: calling the same
function with the same shape of graph again costs one dictionary lookup.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ember.xcs.ir.graph import Graph, Node, NodeKind

__all__ = ["Analysis", "analyze", "critical_path", "levels", "parallel_groups"]


@dataclass(frozen=True)
class Analysis:
    """Structural facts about a graph.

    Attributes:
        levels: for each op node id, its depth among op nodes (0 = needs no other op).
        parallel_groups: op node ids grouped by level; each group can run at once.
        width: the size of the largest group.
        depth: the number of groups (the length of the longest chain of ops).
        counts: number of nodes of each kind (``op``, ``tensor``, ``lifted``, ``barrier``).
    """

    levels: Mapping[int, int]
    parallel_groups: tuple[tuple[int, ...], ...]
    width: int
    depth: int
    counts: Mapping[str, int]


def _op_inputs(graph: Graph) -> dict[int, set[int]]:
    """For each node, the op nodes it must wait for.

    Data dependencies are followed through lifted nodes. A barrier adds control
    dependencies: the glue stopped there until the ops behind its input finished, so
    every node issued after it depends on those ops too. An effect op runs after every
    op issued before it.
    """
    producers = graph.producers
    direct: dict[int, set[int]] = {}
    waited: set[int] = set()
    issued: set[int] = set()
    for node in graph.nodes:
        found: set[int] = set(issued if node.effect else waited)
        for var in node.inputs:
            producer = producers.get(var.id)
            if producer is None:
                continue
            if producer.is_op:
                found.add(producer.id)
            else:
                found |= direct.get(producer.id, set())
        direct[node.id] = found
        if node.kind is NodeKind.BARRIER:
            waited = found
        elif node.is_op:
            issued.add(node.id)
    return direct


def levels(graph: Graph) -> dict[int, int]:
    """The level of every op node: 1 + the highest level among the ops it needs."""
    op_inputs = _op_inputs(graph)
    result: dict[int, int] = {}
    for node in graph.nodes:
        if node.is_op:
            result[node.id] = 1 + max((result[i] for i in op_inputs[node.id]), default=-1)
    return result


def parallel_groups(graph: Graph) -> tuple[tuple[int, ...], ...]:
    """Op node ids grouped by level, in level order."""
    by_level: dict[int, list[int]] = {}
    for node_id, level in levels(graph).items():
        by_level.setdefault(level, []).append(node_id)
    return tuple(tuple(by_level[level]) for level in sorted(by_level))


def critical_path(graph: Graph, durations: Mapping[int, float] | None = None
                  ) -> tuple[float, tuple[int, ...]]:
    """The longest chain of op nodes, weighted by ``durations`` (seconds; default 1).

    Returns:
        ``(length, node ids along the path)``.
    """
    op_inputs = _op_inputs(graph)
    best: dict[int, tuple[float, int | None]] = {}
    for node in graph.nodes:
        if not node.is_op:
            continue
        weight = durations.get(node.id, 0.0) if durations is not None else 1.0
        longest, via = 0.0, None
        for source in sorted(op_inputs[node.id]):  # ties go to the earlier node
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


def _counts(nodes: tuple[Node, ...]) -> dict[str, int]:
    counted = Counter(node.kind.value for node in nodes)
    return {kind.value: counted.get(kind.value, 0) for kind in NodeKind}


_cache: OrderedDict[tuple[object, ...], Analysis] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 256


def analyze(graph: Graph, *, cache: bool = True) -> tuple[Analysis, bool]:
    """Analyse ``graph``; returns ``(analysis, cache_hit)``.

    Example:
        >>> from ember.xcs.ir import Graph
        >>> analyze(Graph(nodes=()))[0].width
        0
    """
    key = graph.signature
    if cache:
        with _cache_lock:
            found = _cache.get(key)
            if found is not None:
                _cache.move_to_end(key)
                return found, True
    node_levels = levels(graph)
    groups = parallel_groups(graph)
    result = Analysis(
        levels=node_levels,
        parallel_groups=groups,
        width=max((len(g) for g in groups), default=0),
        depth=len(groups),
        counts=_counts(graph.nodes),
    )
    if cache:
        with _cache_lock:
            _cache[key] = result
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return result, False
