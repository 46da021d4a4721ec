"""NON facade: ``from ember.api import non; non.build_graph([...])``, and pyember's NON
operator classes (``non.UniformEnsemble``, ``non.JudgeSynthesis``, ``non.Sequential`` ...)."""

from ember.non import (
    NODE_TYPES,
    JudgeSynthesis,
    MostCommon,
    NodeRole,
    NodeType,
    NonGraph,
    NonNode,
    NonResult,
    NonSpecError,
    Sequential,
    UniformEnsemble,
    VariedEnsemble,
    Verifier,
    build_graph,
    parse_node_spec,
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
