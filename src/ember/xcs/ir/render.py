"""Render graphs as jaxpr-like text, Graphviz DOT and Mermaid.

The text form reads like a small functional program::

    { lambda q. let a = llm[gpt-4o](q); b = llm[claude](q); c = judge(a, b) in c }

Longer graphs put one binding per line. Literals are shortened; with ``redact=True``
they print as their type only (``<str>``), so no argument value leaks into logs.

The renderers read a graph through ``RenderableGraph`` (its nodes, inputs, outputs and
name), which ``Graph`` satisfies; ``Graph``'s own printing methods call them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Protocol

from ember.xcs.ir.node import Node, NodeKind, Var

__all__ = ["RenderableGraph", "VarNames", "render_dot", "render_mermaid", "render_text",
           "render_value", "shorten"]

_ONE_LINE_LIMIT = 100
_LITERAL_LIMIT = 32
_BINARY_SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "matmul": "@", "and_": "&", "or_": "|", "xor": "^", "lshift": "<<",
    "rshift": ">>", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
}
_UNARY_SYMBOLS = {"neg": "-", "pos": "+", "invert": "~"}


class RenderableGraph(Protocol):
    """What rendering reads from a graph (``ember.xcs.ir.Graph`` has all of it)."""

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes in program order."""

    @property
    def inputs(self) -> tuple[Var, ...]:
        """The graph's inputs."""

    @property
    def outputs(self) -> Any:
        """A pytree of ``Var`` and literals: what the graph returns."""

    @property
    def name(self) -> str:
        """The display name."""


def _letters() -> Iterator[str]:
    for size in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=size):
            yield "".join(letters)


class VarNames:
    """Assigns printable names, each bound once in the text.

    Inputs keep theirs, variables the user named keep theirs, the others get a, b, c, ...
    skipping every name the graph already uses. A name the user gave twice (a parameter
    ``x`` rebound by ``x = f(x)``) gets a suffix on its later binding: ``x_1``.
    """

    def __init__(self, graph: RenderableGraph) -> None:
        inputs = [(v, v.name or f"in{v.id}") for v in graph.inputs]
        outputs = [node.output for node in graph.nodes if node.output is not None]
        # Reserve every hint up front: an earlier unnamed value must not take a letter
        # that a later variable of the user is called.
        taken = {name for _, name in inputs} | {v.name for v in outputs if v.name}
        fresh = (name for name in _letters() if name not in taken)
        hinted = inputs + [(v, v.name or next(fresh)) for v in outputs]
        self._names: dict[int, str] = {}
        bound: set[str] = set()
        for var, name in hinted:
            if name in bound:
                name = next(f"{name}_{n}" for n in itertools.count(1)
                            if f"{name}_{n}" not in taken)
                taken.add(name)
            bound.add(name)
            self._names[var.id] = name

    def __getitem__(self, var: Var) -> str:
        return self._names.get(var.id, f"v{var.id}")


def render_value(value: Any, names: VarNames, redact: bool = False) -> str:
    """One argument (a pytree of ``Var`` and literals) as text."""
    if isinstance(value, Var):
        return names[value]
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v, names, redact) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(render_value(v, names, redact) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        items = (f"{k!r}: {render_value(v, names, redact)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if redact:
        return f"<{type(value).__name__}>"
    return shorten(repr(value))


def shorten(text: str, limit: int = _LITERAL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with a marker; a string literal keeps its quotes.

    Example:
        >>> shorten("'a long sentence about tidal power plants'", 16)
        "'a long senten…'"
    """
    if len(text) <= limit:
        return text
    quote = text[-1] if text[-1] in "'\"" else ""
    return text[: limit - 1 - len(quote)] + "…" + quote


def _call_text(node: Node, names: VarNames, redact: bool) -> str:
    args = [render_value(a, names, redact) for a in node.args]
    args += [f"{k}={render_value(v, names, redact)}" for k, v in node.kwargs]
    if node.kind is NodeKind.LIFTED:
        return _lifted_text(node, args)
    if node.kind is NodeKind.BARRIER:
        return f"{node.name}({', '.join(args)})"
    return f"{node.name}({', '.join(args)})"


def _lifted_text(node: Node, args: list[str]) -> str:
    name = node.name
    if name == "getitem" and len(args) == 2:
        return f"{args[0]}[{args[1]}]"
    if name == "getattr" and len(args) == 2:
        return f"{args[0]}.{node.args[1]}"
    if name == "call" and args:
        return f"{args[0]}({', '.join(args[1:])})"
    if name == "format" and len(node.args) == 3:
        conversion = {115: "!s", 114: "!r", 97: "!a"}.get(node.args[1], "")
        spec = f":{node.args[2]}" if isinstance(node.args[2], str) and node.args[2] else ""
        return f'f"{{{args[0]}{conversion}{spec}}}"'
    if name == "f-string":
        parts = (value.replace("{", "{{").replace("}", "}}") if isinstance(value, str)
                 else "{" + text + "}" for value, text in zip(node.args, args))
        return shorten('f"' + "".join(parts) + '"', 2 * _LITERAL_LIMIT)
    if name in _BINARY_SYMBOLS and len(args) == 2:
        return f"{args[0]} {_BINARY_SYMBOLS[name]} {args[1]}"
    if name in _UNARY_SYMBOLS and len(args) == 1:
        return f"{_UNARY_SYMBOLS[name]}{args[0]}"
    return f"{name}({', '.join(args)})"


def _bindings(graph: RenderableGraph, names: VarNames, redact: bool) -> list[str]:
    lines = []
    for node in graph.nodes:
        target = names[node.output] if node.output is not None else "_"
        lines.append(f"{target} = {_call_text(node, names, redact)}")
    return lines


def render_text(graph: RenderableGraph, redact: bool = False) -> str:
    """The jaxpr-like text of ``graph`` (``str(graph)``)."""
    names = VarNames(graph)
    params = " ".join(names[v] for v in graph.inputs)
    head = f"{{ lambda {params}." if params else "{ lambda ."
    bindings = _bindings(graph, names, redact)
    result = render_value(graph.outputs, names, redact) if graph.outputs is not None else "()"
    one_line = f"{head} let {'; '.join(bindings)} in {result} }}"
    if not bindings:
        return f"{head} {result} }}"
    if len(one_line) <= _ONE_LINE_LIMIT:
        return one_line
    body = "\n      ".join(bindings)
    return f"{head}\n  let {body}\n  in {result} }}"


def _label(node: Node, names: VarNames, redact: bool) -> str:
    target = names[node.output] if node.output is not None else "_"
    return f"{target} = {_call_text(node, names, redact)}"


def _edges(graph: RenderableGraph) -> Iterator[tuple[str, str]]:
    """``(source, target)`` element ids of every edge: ``n<id>`` nodes, ``v<id>`` inputs."""
    producers = {n.output.id: n.id for n in graph.nodes if n.output is not None}
    for node in graph.nodes:
        for var in node.inputs:
            source = f"n{producers[var.id]}" if var.id in producers else f"v{var.id}"
            yield source, f"n{node.id}"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: RenderableGraph, redact: bool = False) -> str:
    """``graph`` in Graphviz DOT syntax (ops as boxes, lifted as ellipses)."""
    names = VarNames(graph)
    shapes = {NodeKind.OP: "box", NodeKind.TENSOR: "box3d", NodeKind.LIFTED: "ellipse",
              NodeKind.BARRIER: "octagon"}
    lines = [f'digraph "{_dot_escape(graph.name)}" {{', "  rankdir=TB;"]
    for var in graph.inputs:
        lines.append(f'  v{var.id} [label="{_dot_escape(names[var])}", shape=plaintext];')
    for node in graph.nodes:
        label = _dot_escape(_label(node, names, redact))
        lines.append(f'  n{node.id} [label="{label}", shape={shapes[node.kind]}];')
    lines += [f"  {source} -> {target};" for source, target in _edges(graph)]
    lines.append("}")
    return "\n".join(lines)


def _mermaid_escape(text: str) -> str:
    return text.replace('"', "#quot;")


def render_mermaid(graph: RenderableGraph, redact: bool = False) -> str:
    """``graph`` as a Mermaid ``flowchart TD``."""
    names = VarNames(graph)
    lines = ["flowchart TD"]
    for var in graph.inputs:
        lines.append(f'  v{var.id}(["{_mermaid_escape(names[var])}"])')
    brackets = {NodeKind.OP: ("[", "]"), NodeKind.TENSOR: ("[[", "]]"),
                NodeKind.LIFTED: ("(", ")"), NodeKind.BARRIER: ("{{", "}}")}
    for node in graph.nodes:
        left, right = brackets[node.kind]
        lines.append(f'  n{node.id}{left}"{_mermaid_escape(_label(node, names, redact))}"{right}')
    lines += [f"  {source} --> {target}" for source, target in _edges(graph)]
    return "\n".join(lines)
