"""The reference interpreter: run a graph's nodes one by one, in program order.

Every scheduler (``sequential``, ``wave``, ``parallel``) must give the same values and
raise the same exception as this loop; the tests hold them to it. It is deliberately
the simplest thing that could work, like JAX's ``eval_jaxpr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.xcs.errors import GraphError
from ember.xcs.ir.graph import Graph, Node, NodeKind, Var, map_vars
from ember.xcs.ops import Op

__all__ = ["call_node", "eval_graph"]


def call_node(node: Node, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run one node's body on concrete arguments (an op's body, or a lifted operation).

    Raises:
        GraphError: the node has nothing to call (a barrier, or a node built by hand
            without ``fn``).
    """
    if isinstance(node.fn, Op):
        return node.fn.run(*args, **kwargs)
    if node.fn is None:
        raise GraphError(f"node #{node.id} {node.name} has no function to call.")
    return node.fn(*args, **kwargs)


def eval_graph(graph: Graph, inputs: Mapping[Var, Any]) -> dict[int, Any]:
    """Evaluate ``graph`` sequentially; returns every value by ``Var`` id.

    Args:
        graph: the graph to run (barrier nodes are skipped: they produce nothing).
        inputs: a value for each of ``graph.inputs``.

    Returns:
        The environment: ``{var.id: value}`` for inputs and node outputs.

    Raises:
        GraphError: an input has no value.
        Exception: whatever a node raises, unchanged.

    Example:
        >>> from ember.xcs.ir import GraphBuilder, NodeKind
        >>> builder = GraphBuilder()
        >>> x = builder.add_input("x")
        >>> node = builder.add(NodeKind.LIFTED, "neg", (x,), (), fn=lambda v: -v, location=None)
        >>> eval_graph(builder.build(node.output), {x: 3})[node.output.id]
        -3
    """
    missing = [var.name or f"#{var.id}" for var in graph.inputs if var not in inputs]
    if missing:
        raise GraphError(f"no value for graph input(s) {', '.join(missing)}.")
    env: dict[int, Any] = {var.id: inputs[var] for var in graph.inputs}

    def read(var: Var) -> Any:
        return env[var.id]

    for node in graph.nodes:
        if node.kind is NodeKind.BARRIER or node.output is None:
            continue
        # An effect op gets the objects it was given; other nodes get copies of the
        # containers, so that no run changes the graph.
        args = map_vars(node.args, read, share=node.effect)
        kwargs = {key: map_vars(value, read, share=node.effect) for key, value in node.kwargs}
        env[node.output.id] = call_node(node, args, kwargs)
    return env
