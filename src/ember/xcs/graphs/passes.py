"""Graph passes: pure functions ``Graph -> Graph``.

- ``eliminate_dead_nodes``: drop nodes whose values reach no output (effects stay);
- ``prune_to_outputs``: keep only what some named outputs need (what
  ``execute(..., output_nodes=[...])`` runs); a value needs the in-place changes its
  objects had before it (``analysis.ordering``);
- ``merge_duplicates``: run a *deterministic* op once when it is called twice with the
  same arguments (never sampling LLM calls, never effects);
- ``rename_vars``: give node outputs the names of the variables they were bound to.

Node ids are kept, so a node of a pruned graph has the id it had in the original.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from ember.xcs.analysis.ordering import ordering
from ember.xcs.errors import GraphError
from ember.xcs.ir.graph import Graph, Node, Var, iter_vars, map_vars
from ember.xcs.ops import Op

__all__ = ["eliminate_dead_nodes", "merge_duplicates", "prune_to_outputs", "rename_vars"]


def _live(graph: Graph, roots: Iterable[Var], keep_effects: bool) -> Graph:
    """The nodes needed for ``roots`` (plus effect nodes and their inputs, if asked).

    A value needs the node making it, that node's inputs, and the in-place changes
    (``q.append(x)``) its objects had before it: ``q`` as an output shows every change
    of it. With ``keep_effects``, so are the changes of objects the caller gave (the
    graph's inputs). Without (pruning), unused graph inputs are dropped too.
    """
    producers = graph.producers
    order = ordering(graph)
    output_of = {n.id: n.output.id for n in graph.nodes if n.output is not None}
    needed: set[int] = set()
    wanted = [v.id for v in roots]
    stack = wanted + [output_of[i] for i in order.reaching(wanted)]
    if keep_effects:
        given = {v.id for v in graph.inputs}
        for candidate in graph.nodes:
            reached = set().union(*(order.roots.get(v.id, ()) for v in candidate.inputs))
            changes_given = candidate.mutates and bool(given & reached)
            if candidate.output is not None and (candidate.effect or changes_given):
                stack.append(candidate.output.id)
    while stack:
        var_id = stack.pop()
        if var_id in needed:
            continue
        needed.add(var_id)
        node = producers.get(var_id)
        if node is not None:
            stack.extend(v.id for v in node.inputs)
            stack.extend(output_of[i] for i in order.changes[node.id])
    kept = tuple(
        node for node in graph.nodes
        if (node.output.id in needed if node.output is not None
            else all(v.id in needed for v in node.inputs))
    )
    if keep_effects:
        return dataclasses.replace(graph, nodes=kept)
    return dataclasses.replace(graph, nodes=kept,
                               inputs=tuple(v for v in graph.inputs if v.id in needed))


def eliminate_dead_nodes(graph: Graph) -> Graph:
    """Drop every node whose value reaches neither an output nor an effect op.

    Barrier nodes stay when everything they waited for stays.

    Example:
        >>> from ember.xcs.ir import GraphBuilder, NodeKind
        >>> builder = GraphBuilder()
        >>> used = builder.add(NodeKind.LIFTED, "one", (), (), fn=lambda: 1, location=None)
        >>> _ = builder.add(NodeKind.LIFTED, "two", (), (), fn=lambda: 2, location=None)
        >>> len(eliminate_dead_nodes(builder.build(used.output)))
        1
    """
    return _live(graph, iter_vars(graph.outputs), keep_effects=True)


def prune_to_outputs(graph: Graph, names: Iterable[str]) -> Graph:
    """Keep only the named outputs and the nodes and inputs they need (not effects).

    Args:
        graph: a graph whose ``outputs`` is a dict keyed by name (``autograph`` makes
            such graphs).
        names: the outputs to keep.

    Returns:
        A graph whose ``outputs`` holds only ``names``.

    Raises:
        GraphError: ``graph.outputs`` is not a dict, or a name is not one of its keys.
    """
    outputs = graph.outputs
    wanted = list(dict.fromkeys(names))
    if not isinstance(outputs, dict):
        raise GraphError(
            f"graph {graph.name!r} has no named outputs, so it cannot be pruned to {wanted}; "
            "record it with autograph() to name its values."
        )
    unknown = [name for name in wanted if name not in outputs]
    if unknown:
        raise GraphError(
            f"graph {graph.name!r} has no output(s) {', '.join(map(repr, unknown))}; its "
            f"outputs are: {', '.join(map(repr, outputs)) or 'none'}."
        )
    kept = {name: outputs[name] for name in wanted}
    return dataclasses.replace(_live(graph, iter_vars(kept), keep_effects=False), outputs=kept)


def _rewrite(graph: Graph, nodes: Iterable[Node], fn: Callable[[Var], Var]) -> Graph:
    """``graph`` with ``nodes`` and every ``Var`` (arguments, outputs) passed through ``fn``.

    Literal containers are shared with ``graph``, not copied: an effect op's are the
    user's own objects.
    """
    rebuilt = tuple(
        dataclasses.replace(
            node,
            args=map_vars(node.args, fn, share=True),
            kwargs=tuple((key, map_vars(value, fn, share=True)) for key, value in node.kwargs),
            output=fn(node.output) if node.output is not None else None,
        )
        for node in nodes
    )
    return dataclasses.replace(graph, nodes=rebuilt, inputs=tuple(fn(v) for v in graph.inputs),
                               outputs=map_vars(graph.outputs, fn, share=True))


def rename_vars(graph: Graph, names: Mapping[int, str]) -> Graph:
    """Give the variables with the ids in ``names`` those names (printing, error notes)."""
    renamed = {var_id: Var(var_id, name) for var_id, name in names.items()}
    return _rewrite(graph, graph.nodes, lambda var: renamed.get(var.id, var))


# Types whose equal values no code can tell apart (not so floats: 0.0 == -0.0).
_BY_VALUE = frozenset({str, bytes, int, bool, type(None), type(Ellipsis)})
_BY_ITEMS = frozenset({list, tuple, set, frozenset})


def _freeze(value: Any) -> Hashable:
    """A hashable key, equal only for argument trees no call can tell apart.

    Equal is not enough: ``0.0 == -0.0``, ``Decimal("1.0") == Decimal("1.00")`` and
    ``1 == True == 1.0`` print and compute differently. So the key holds each leaf's
    type and its exact form (a float's bits, a Decimal's digits and exponent), a
    container's items in order, and for any other object the object itself (the
    same object is the same argument).
    """
    cls = type(value)
    if cls is Var:
        return ("var", value.id)
    if cls in _BY_VALUE:
        return (cls, value)
    if cls is float or cls is complex:
        parts = (value.real, value.imag) if cls is complex else (value,)
        return (cls, struct.pack(f"<{len(parts)}d", *parts))  # -0.0, NaN payloads
    decimal = sys.modules.get("decimal")  # no Decimal exists before it is imported
    if decimal is not None and cls is decimal.Decimal:
        return (cls, value.as_tuple())
    if cls in _BY_ITEMS or (issubclass(cls, tuple) and hasattr(cls, "_fields")
                            and not hasattr(value, "__dict__")):  # named tuples
        return (cls, tuple(_freeze(item) for item in value))
    if cls is dict:
        return (cls, tuple((_freeze(k), _freeze(v)) for k, v in value.items()))
    return ("object", id(value))  # the graph holds it, so its id stays its own


def _merge_key(node: Node, changed: set[int], roots: Mapping[int, frozenset[int]]
               ) -> Hashable | None:
    if not node.deterministic or node.effect or node.output is None:
        return None
    if roots.get(node.output.id, frozenset()) & changed:
        # Its objects may change in place (``a.append(x)``): a merged twin would see it.
        return None
    identity = node.fn.identity if isinstance(node.fn, Op) else node.fn
    try:
        return (node.kind, node.name, identity, _freeze(node.args), _freeze(node.kwargs))
    except TypeError:
        return None  # an unhashable function: cannot prove the calls the same


def merge_duplicates(graph: Graph) -> Graph:
    """Compute each deterministic call once: later identical calls reuse the first value.

    Only nodes marked ``deterministic`` (``@op(deterministic=True)``, lifted operations)
    are merged; effect ops and ordinary ops (an LLM call samples: two calls may differ)
    never are. Calls are identical when they call the same op with the same arguments:
    the same inputs (after merging, so chains of duplicates merge) and literals no code
    can tell apart (``0.0`` and ``-0.0`` differ, see ``_freeze``). A value that may be
    changed in place (``a.append(x)``, an effect op given it) is never merged: its twin
    would see the change.

    Example:
        >>> from ember.xcs import autograph, op
        >>> @op(deterministic=True)
        ... def square(x):
        ...     return x * x
        >>> with autograph() as recording:
        ...     a = square(3)
        ...     b = square(3)
        >>> len(merge_duplicates(recording.graph))
        1
    """
    first: dict[Hashable, Var] = {}
    replaced: dict[int, Var] = {}
    order = ordering(graph)
    changed = set(order.last_change)

    def canonical(var: Var) -> Var:
        return replaced.get(var.id, var)

    kept: list[Node] = []
    for node in graph.nodes:
        node = dataclasses.replace(
            node, args=map_vars(node.args, canonical, share=True),
            kwargs=tuple((k, map_vars(v, canonical, share=True)) for k, v in node.kwargs),
        )
        key = _merge_key(node, changed, order.roots)
        if key is not None and node.output is not None:
            earlier = first.get(key)
            if earlier is not None:
                replaced[node.output.id] = earlier
                continue
            first[key] = node.output
        kept.append(node)
    return _rewrite(graph, kept, canonical)
