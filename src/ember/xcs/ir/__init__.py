"""The intermediate representation: immutable ``Graph``/``Node``/``Var`` plus rendering."""

from ember.xcs.ir.builder import GraphBuilder
from ember.xcs.ir.graph import Graph, Node, NodeKind, SourceLocation, Var, iter_vars, map_vars

__all__ = ["Graph", "GraphBuilder", "Node", "NodeKind", "SourceLocation", "Var", "iter_vars",
           "map_vars"]
