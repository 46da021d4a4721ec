"""The order a graph's nodes keep besides their data edges: effects and in-place changes.

A scheduler may run a node as soon as its inputs exist, except where the node acts on
something its inputs do not show:

- an effect (``@op(effect=True)``, a lifted call that may act outside its value) runs
  alone and in program order, as under ``@jit`` (where the glue waits for it): after
  every node before it has finished, and not at all if one of them failed (plain Python
  would never have reached it); every node after it starts once it has finished;
- a node that may change objects in place (``Node.mutates``: a lifted ``q.append(x)``)
  runs after every earlier use of the objects its inputs reach, and every later use
  runs after it, so each use sees exactly the changes made before it in program order.

Which objects a value reaches goes by *roots*, as under ``@jit`` (``tracing.lazy``): a
graph input and an op's result are roots of their own; a lifted value (``q["items"]``,
``q.pop``) may share the objects of its inputs, so it has their roots.

``ordering`` gives the extra edges (``run_after``, which the schedulers add to the data
edges and ``analysis.dependencies`` counts) and which changes a value depends on
(``changes``, ``reaching``: what the passes must keep along with it).

Example:
    >>> import operator
    >>> from ember.xcs.ir import GraphBuilder, NodeKind
    >>> builder = GraphBuilder()
    >>> q = builder.add(NodeKind.OP, "make_queue", (), (), fn=None, location=None).output
    >>> _ = builder.add(NodeKind.OP, "summarize", (q,), (), fn=None, location=None)
    >>> pop = builder.add(NodeKind.LIFTED, "getattr", (q, "pop"), (), fn=getattr,
    ...                   location=None).output
    >>> _ = builder.add(NodeKind.LIFTED, "call", (pop,), (), fn=None, location=None,
    ...                 mutates=True)
    >>> _ = builder.add(NodeKind.OP, "send", (), (), fn=None, location=None, effect=True)
    >>> ordering(builder.build()).after
    {0: (), 1: (), 2: (), 3: (1, 2), 4: (0, 1, 2, 3)}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ember.xcs.ir.graph import Graph

__all__ = ["Ordering", "ordering", "run_after"]


@dataclass(frozen=True)
class Ordering:
    """The order facts of one graph (see the module docstring).

    Attributes:
        after: for each node id (barriers left out), the earlier nodes it must wait for
            besides the producers of its inputs.
        changes: for each node id, the last earlier change of each object its inputs
            reach: the changes its arguments must show.
        roots: for each ``Var`` id, the roots of the objects its value may share.
        last_change: for each root, the last node that may change it.
    """

    after: dict[int, tuple[int, ...]]
    changes: dict[int, tuple[int, ...]]
    roots: dict[int, frozenset[int]]
    last_change: dict[int, int]

    def reaching(self, var_ids: Iterable[int]) -> set[int]:
        """The last changes of the objects these values reach (by the end of the graph)."""
        return {self.last_change[root] for var_id in var_ids
                for root in self.roots.get(var_id, ()) if root in self.last_change}


def ordering(graph: Graph) -> Ordering:
    """The order facts of ``graph``, in one pass over its nodes.

    An effect waits for the nodes since the effect before it and for that effect, which
    waited for the ones before; a change waits for the uses of its roots since their
    last change: one edge per node and use in all, not one per pair.
    """
    roots: dict[int, frozenset[int]] = {var.id: frozenset({var.id}) for var in graph.inputs}
    after: dict[int, tuple[int, ...]] = {}
    changes: dict[int, tuple[int, ...]] = {}
    last_change: dict[int, int] = {}
    uses: dict[int, list[int]] = {}  # root -> the nodes that used it since its last change
    last_effect: int | None = None
    since: list[int] = []  # the nodes since the last effect
    for node in graph.nodes:
        if node.output is None:
            continue
        reached = frozenset().union(*(roots.get(var.id, ()) for var in node.inputs))
        seen = [last_change[root] for root in reached if root in last_change]
        waits = [] if last_effect is None else [last_effect]
        waits += seen
        if node.effect:
            waits += since
            last_effect, since = node.id, []
            uses.clear()  # every use so far comes before this effect, so before what follows
        else:
            since.append(node.id)
        for root in reached:
            if node.effect or node.mutates:
                waits += uses.pop(root, ())
                last_change[root] = node.id
            else:
                uses.setdefault(root, []).append(node.id)
        after[node.id] = tuple(sorted(set(waits)))
        changes[node.id] = tuple(sorted(set(seen)))
        roots[node.output.id] = reached if not node.is_op and reached \
            else frozenset({node.output.id})
    return Ordering(after, changes, roots, last_change)


def run_after(graph: Graph) -> dict[int, tuple[int, ...]]:
    """For each node id (barriers left out), the earlier nodes it must wait for besides
    the producers of its inputs (``ordering(graph).after``)."""
    return ordering(graph).after
