"""``GraphBuilder``: the one mutable stage of the IR, append-only during a call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ember.xcs.ir.graph import Graph, Node, NodeKind, SourceLocation, Var

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Collects nodes in program order; ``build()`` returns an immutable ``Graph``.

    All mutation happens under ``self._lock`` (the builder is normally fed by one
    thread, the one running the traced function's glue, but nothing relies on it).
    """

    def __init__(self, name: str = "graph") -> None:
        self._lock = threading.Lock()
        self._nodes: list[Node] = []
        self._inputs: list[Var] = []
        self._next_var = 0
        self.name = name

    def new_var(self, name: str | None = None) -> Var:
        """A fresh variable (used for inputs and node outputs)."""
        with self._lock:
            var = Var(self._next_var, name)
            self._next_var += 1
            return var

    def add_input(self, name: str) -> Var:
        """Declare a graph input (a parameter or placeholder) named ``name``."""
        var = self.new_var(name)
        with self._lock:
            self._inputs.append(var)
        return var

    def add(
        self,
        kind: NodeKind,
        name: str,
        args: tuple[Any, ...],
        kwargs: tuple[tuple[str, Any], ...],
        *,
        fn: Callable[..., Any] | None,
        location: SourceLocation | None,
        effect: bool = False,
        deterministic: bool = False,
        mutates: bool = False,
        output_name: str | None = None,
    ) -> Node:
        """Append a node; barriers get no output variable."""
        with self._lock:
            output = None
            if kind is not NodeKind.BARRIER:
                output = Var(self._next_var, output_name)
                self._next_var += 1
            node = Node(
                id=len(self._nodes),
                kind=kind,
                name=name,
                args=args,
                kwargs=kwargs,
                output=output,
                location=location,
                fn=fn,
                effect=effect,
                deterministic=deterministic,
                mutates=mutates,
            )
            self._nodes.append(node)
            return node

    def __len__(self) -> int:
        return len(self._nodes)

    def build(self, outputs: Any = None,
              recorded_inputs: tuple[tuple[Var, Any], ...] | None = None) -> Graph:
        """An immutable snapshot of everything recorded so far (see ``Graph``)."""
        with self._lock:
            return Graph(
                nodes=tuple(self._nodes),
                inputs=tuple(self._inputs),
                outputs=outputs,
                name=self.name,
                recorded_inputs=recorded_inputs,
            )
