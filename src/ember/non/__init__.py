"""NON (networks of networks): compound-AI graphs in a compact notation.

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

__all__ = [
    "NODE_TYPES",
    "NodeRole",
    "NodeType",
    "NonGraph",
    "NonNode",
    "NonSpecError",
    "build_graph",
    "parse_node_spec",
]
