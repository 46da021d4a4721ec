"""The IR's container: ``Graph``, an immutable program-ordered tuple of nodes.

The nodes, their four kinds and the ``Var`` edges between them are described in
``node``. ``str(graph)`` prints the graph like a jaxpr (``render``); ``to_dot``,
``to_mermaid`` and ``save`` draw it (``render``, ``export``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ember.xcs.ir.export import save_graph
from ember.xcs.ir.node import Node, NodeKind, SourceLocation, Var, iter_vars, map_vars
from ember.xcs.ir.render import render_dot, render_mermaid, render_text

__all__ = ["Graph", "Node", "NodeKind", "SourceLocation", "Var", "iter_vars", "map_vars"]


@dataclass(frozen=True)
class Graph:
    """An immutable, program-ordered dataflow graph.

    Attributes:
        nodes: the nodes in program order.
        inputs: the graph's inputs (function parameters or placeholders).
        outputs: a pytree of ``Var`` and literals: what the graph returns.
        name: a display name (the traced function's name).
        recorded_inputs: for a graph recorded from one ``@jit`` call, the value each
            input had in that call (``None`` for graphs built or recorded otherwise).
            Such a graph runs again only on those values: what its glue computed from
            them is baked into its nodes.
    """

    nodes: tuple[Node, ...]
    inputs: tuple[Var, ...] = ()
    outputs: Any = None
    name: str = "graph"
    recorded_inputs: tuple[tuple[Var, Any], ...] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return render_text(self)

    def __len__(self) -> int:
        return len(self.nodes)

    def node_for(self, var: Var) -> Node | None:
        """The node producing ``var`` (``None`` for graph inputs)."""
        return self.producers.get(var.id)

    @property
    def producers(self) -> dict[int, Node]:
        """Map from output ``Var`` id to the node producing it."""
        cached = self.__dict__.get("_producers")
        if cached is None:
            cached = {n.output.id: n for n in self.nodes if n.output is not None}
            object.__setattr__(self, "_producers", cached)
        return cached

    @property
    def op_nodes(self) -> tuple[Node, ...]:
        """The nodes that run op bodies."""
        return tuple(n for n in self.nodes if n.is_op)

    @property
    def signature(self) -> tuple[Any, ...]:
        """A hashable description of the graph's structure (not its values).

        Two graphs with the same signature have the same nodes, kinds, names, edges
        and effect and in-place marks (which order nodes besides the edges); analysis
        results are cached by it.
        """
        cached = self.__dict__.get("_signature")
        if cached is None:
            index = {n.output.id: i for i, n in enumerate(self.nodes) if n.output is not None}
            cached = tuple(
                (n.kind.value, n.name, tuple(index.get(v.id, -1 - v.id) for v in n.inputs),
                 n.effect, n.mutates)
                for n in self.nodes
            )
            object.__setattr__(self, "_signature", cached)
        return cached

    def to_dot(self) -> str:
        """The graph in Graphviz DOT syntax."""
        return render_dot(self)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        return render_mermaid(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the graph as ``.svg``/``.png``/``.pdf`` (needs Graphviz) or ``.dot``/``.mmd``.

        Raises:
            XCSError: unsupported extension, or Graphviz's ``dot`` is not installed.
        """
        save_graph(self, path)
