"""``analyze``: the structural facts of a ``Graph`` in one ``Analysis``, cached.

The facts depend only on the graph's structure, so they are cached per structure
signature: analysing the same shape of graph again costs one dictionary lookup. The
cache is shared by every thread, so it is read and written under ``_cache_lock``.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ember.xcs.analysis.dependencies import levels, parallel_groups
from ember.xcs.ir.graph import Graph, Node, NodeKind

__all__ = ["Analysis", "analyze"]


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


def _counts(nodes: tuple[Node, ...]) -> dict[str, int]:
    counted = Counter(node.kind.value for node in nodes)
    return {kind.value: counted.get(kind.value, 0) for kind in NodeKind}


_cache: OrderedDict[tuple[object, ...], Analysis] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 256


def analyze(graph: Graph, *, cache: bool = True) -> tuple[Analysis, bool]:
    """Analyse ``graph``; returns ``(analysis, cache_hit)``.

    Args:
        graph: the graph.
        cache: look the result up by the graph's structure signature, and keep it
            (the 256 most recently used structures are kept).

    Returns:
        The ``Analysis`` and whether it came from the cache.

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
    groups = parallel_groups(graph)
    result = Analysis(
        levels=levels(graph),
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
