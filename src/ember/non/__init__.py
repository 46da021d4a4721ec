"""NON (networks of networks): compound-AI graphs in a compact notation, and pyember's
NON operator classes (``UniformEnsemble``, ``JudgeSynthesis``, ``Sequential`` ...).

Example:
    >>> from ember.non import build_graph
    >>> graph = build_graph(["3E@simulated/a", "1J@simulated/judge"])
    >>> [node.type.code for node in graph.nodes]
    ['E', 'J']
"""

from ember.non.graph import NonGraph, build_graph
from ember.non.notation import (
    NODE_TYPES,
    NodeRole,
    NodeType,
    NonNode,
    NonSpecError,
    parse_node_spec,
)
from ember.non.patterns import (
    JudgeSynthesis,
    MostCommon,
    NonResult,
    Sequential,
    UniformEnsemble,
    VariedEnsemble,
    Verifier,
)

__all__ = [
    "NODE_TYPES",
    "JudgeSynthesis",
    "MostCommon",
    "NodeRole",
    "NodeType",
    "NonGraph",
    "NonNode",
    "NonResult",
    "NonSpecError",
    "Sequential",
    "UniformEnsemble",
    "VariedEnsemble",
    "Verifier",
    "build_graph",
    "parse_node_spec",
]
