"""The IR: ``Var``, ``Node`` and ``Graph``, all immutable.

A graph is a program-ordered tuple of nodes. Each node has one of four kinds:

- ``op``: a call of an op (LLM, tool, any ``@op``), scheduled on the engine;
- ``tensor``: a call of a ``mark_tensor`` function, scheduled like an op;
- ``lifted``: a cheap pure operation on a lazy value (``x[k]``, ``x.attr``, ``x + 1``,
  ``x.strip()``), evaluated inline as soon as its inputs exist;
- ``barrier``: a point where glue code needed a concrete value (``bool``, ``str``,
  ``len``, ...). It produces no value; it records where the program waited.

Edges are ``Var`` objects inside a node's argument pytree; everything else in the
arguments is a literal. ``str(graph)`` prints the graph like a jaxpr.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Graph", "Node", "NodeKind", "SourceLocation", "Var", "iter_vars", "map_vars"]


class NodeKind(enum.Enum):
    """The four kinds of node (see the module docstring)."""

    OP = "op"
    TENSOR = "tensor"
    LIFTED = "lifted"
    BARRIER = "barrier"


@dataclass(frozen=True, slots=True)
class Var:
    """A value flowing along an edge: the output of node ``id`` (or an input).

    ``name`` is a hint for printing (a parameter or a variable name bound by the user).
    """

    id: int
    name: str | None = None

    def __repr__(self) -> str:
        return f"Var({self.id}{', ' + repr(self.name) if self.name else ''})"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where in user code something happened."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}"

    @property
    def short(self) -> str:
        """``basename:line`` for compact displays."""
        return f"{self.filename.rsplit('/', 1)[-1]}:{self.lineno}"


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a graph.

    Attributes:
        id: position in program order (unique within a graph).
        kind: see ``NodeKind``.
        name: display name (the op's name, or the lifted operation: ``getitem``,
            ``getattr``, ``call``, ``add``, ...; for barriers the reason: ``bool``, ...).
        args: positional arguments, a pytree whose ``Var`` leaves are edges.
        kwargs: keyword arguments as ``(name, value)`` pairs.
        output: the value this node produces (``None`` for barriers).
        location: where user code made the call.
        fn: what to call (not part of equality or the structure signature).
        effect: runs eagerly and in program order.
        deterministic: the same inputs always give the same output.
    """

    id: int
    kind: NodeKind
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    output: Var | None = None
    location: SourceLocation | None = None
    fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    effect: bool = False
    deterministic: bool = False

    @property
    def inputs(self) -> tuple[Var, ...]:
        """Every distinct ``Var`` this node reads, in argument order."""
        seen: dict[Var, None] = {}
        for var in iter_vars((self.args, self.kwargs)):
            seen.setdefault(var)
        return tuple(seen)

    @property
    def is_op(self) -> bool:
        """Whether this node runs an op body on the engine (op or tensor)."""
        return self.kind in (NodeKind.OP, NodeKind.TENSOR)


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
        from ember.xcs.ir.render import render_text

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

        Two graphs with the same signature have the same nodes, kinds, names and
        edges; analysis results are cached by it.
        """
        cached = self.__dict__.get("_signature")
        if cached is None:
            index = {n.output.id: i for i, n in enumerate(self.nodes) if n.output is not None}
            cached = tuple(
                (n.kind.value, n.name, tuple(index.get(v.id, -1 - v.id) for v in n.inputs))
                for n in self.nodes
            )
            object.__setattr__(self, "_signature", cached)
        return cached

    def to_dot(self) -> str:
        """The graph in Graphviz DOT syntax."""
        from ember.xcs.ir.render import render_dot

        return render_dot(self)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        from ember.xcs.ir.render import render_mermaid

        return render_mermaid(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the graph as ``.svg``/``.png``/``.pdf`` (needs Graphviz) or ``.dot``/``.mmd``.

        Raises:
            XCSError: unsupported extension, or Graphviz's ``dot`` is not installed.
        """
        from ember.xcs.ir.export import save_graph

        save_graph(self, path)


def iter_vars(tree: Any) -> Iterator[Var]:
    """Every ``Var`` leaf of a pytree of tuples, lists, dicts and sets."""
    if isinstance(tree, Var):
        yield tree
    elif isinstance(tree, tuple | list | set | frozenset):
        for item in tree:
            yield from iter_vars(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from iter_vars(item)


def map_vars(tree: Any, fn: Callable[[Var], Any]) -> Any:
    """Rebuild a pytree with every ``Var`` replaced by ``fn(var)``."""
    if isinstance(tree, Var):
        return fn(tree)
    if isinstance(tree, list):
        return [map_vars(item, fn) for item in tree]
    if isinstance(tree, tuple):
        items = [map_vars(item, fn) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, dict):
        return {key: map_vars(value, fn) for key, value in tree.items()}
    if isinstance(tree, set | frozenset):
        return type(tree)(map_vars(item, fn) for item in tree)
    return tree
