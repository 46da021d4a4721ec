"""NON notation facade: ``from ember.api import non; non.build_graph([...])``."""

from ember.non import (
    NODE_TYPES,
    NodeRole,
    NodeType,
    NonGraph,
    NonNode,
    NonSpecError,
    build_graph,
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
