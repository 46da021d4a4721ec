"""Small graphs the analysis tests share."""

from __future__ import annotations

from ember.xcs.ir import Graph, GraphBuilder, NodeKind


def diamond_with_lifted() -> Graph:
    """top -> getitem -> left, top -> right, (left, right) -> bottom; lonely alone."""
    b = GraphBuilder()
    top = b.add(NodeKind.OP, "top", (), (), fn=None, location=None)
    field = b.add(NodeKind.LIFTED, "getitem", (top.output, "k"), (), fn=None, location=None)
    left = b.add(NodeKind.OP, "left", (field.output,), (), fn=None, location=None)
    right = b.add(NodeKind.OP, "right", (top.output,), (), fn=None, location=None)
    b.add(NodeKind.OP, "bottom", (left.output, right.output), (), fn=None, location=None)
    b.add(NodeKind.OP, "lonely", (), (), fn=None, location=None)
    return b.build()
