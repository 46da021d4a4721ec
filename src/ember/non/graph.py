"""``build_graph``: a NON spec as a runnable Operator.

The nodes run in this order: every ``E`` node's replicas are asked the question
(concurrently under ``@jit``, and across ``vmap`` items); then ``M`` (majority vote)
or ``J`` (judge) reduces the answers to one; then ``V`` checks it. Without ``M`` or
``J`` the graph returns the list of answers (or the answer, for one replica).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ember.models import models
from ember.non.notation import (
    NodeRole,
    NonNode,
    NonSpecError,
    format_node,
    parse_node_spec,
    split_outside,
)
from ember.operators import Judge, MostCommon, Operator, Verifier

__all__ = ["NonGraph", "build_graph"]


class NonGraph(Operator):
    """A compound-AI graph built from NON node strings (see ``build_graph``).

    Attributes:
        nodes: the parsed nodes, in spec order.
        members: one model binding per ensemble replica.
    """

    def __init__(self, nodes: Sequence[NonNode]) -> None:
        self.nodes = tuple(nodes)
        by_role: dict[NodeRole, list[NonNode]] = {role: [] for role in NodeRole}
        for node in self.nodes:
            by_role[node.type.role].append(node)
        if not by_role[NodeRole.ENSEMBLE]:
            raise NonSpecError(
                f"NON graph {self.spec!r} has no ensemble node; start with one, "
                "e.g. '3E@simulated/demo'."
            )
        reducers = by_role[NodeRole.AGGREGATOR] + by_role[NodeRole.JUDGE]
        if len(reducers) > 1:
            raise NonSpecError(
                f"NON graph {self.spec!r}: use one M (majority vote) or one J (judge), "
                f"not {len(reducers)} of them."
            )
        if len(by_role[NodeRole.VERIFIER]) > 1:
            raise NonSpecError(f"NON graph {self.spec!r}: use at most one V (verifier).")
        ids = [node.id for node in self.nodes]
        if len(set(ids)) != len(ids):
            raise NonSpecError(f"NON graph {self.spec!r}: node aliases must be unique.")
        self.members = tuple(
            models.instance(node.model or "", **node.params)
            for node in by_role[NodeRole.ENSEMBLE] for _ in range(node.count)
        )
        reducer = reducers[0] if reducers else None
        self.reducer: Operator | None = None
        if reducer is not None and reducer.type.role is NodeRole.AGGREGATOR:
            self.reducer = MostCommon()
        elif reducer is not None:
            self.reducer = Judge(models.instance(reducer.model or "", **reducer.params))
        verifiers = by_role[NodeRole.VERIFIER]
        self.verifier = (Verifier(models.instance(verifiers[0].model or "", **verifiers[0].params))
                         if verifiers else None)

    @property
    def spec(self) -> str:
        """The graph in the notation (normalised): ``build_graph(graph.spec)`` rebuilds it."""
        return ", ".join(format_node(node, index) for index, node in enumerate(self.nodes))

    def forward(self, question: Any) -> Any:
        """Run the graph on ``question`` (see the module docstring for the order)."""
        answers = [member(question) for member in self.members]
        if isinstance(self.reducer, Judge):
            answer = self.reducer(question, answers)
        elif self.reducer is not None:
            answer = self.reducer(answers)
        else:
            answer = answers if len(answers) > 1 else answers[0]
        if self.verifier is not None:
            return self.verifier(question, answer)
        return answer

    def __repr__(self) -> str:
        return f"NonGraph({self.spec!r})"


def build_graph(spec: str | Iterable[str]) -> NonGraph:
    """Build a runnable graph from NON node strings.

    Args:
        spec: node strings (a list, or one string separated by commas, semicolons or
            newlines outside quotes and brackets), e.g.
            ``["5E@openai/gpt-4o(temp=0.7)", "1J@anthropic/claude"]``.

    Returns:
        A ``NonGraph`` Operator: ``graph(question)``.

    Raises:
        NonSpecError: a node does not follow the notation, or the graph has no
            ensemble, several reducers or several verifiers.
        ModelNotFoundError, ProviderNotFoundError, InvalidParamsError: a model id or
            parameter the models layer rejects.

    Example:
        >>> graph = build_graph(["3E@simulated/a(temp=0.7)", "1M"])
        >>> graph.spec
        '3E@simulated/a(temperature=0.7), M'
        >>> graph("Capital of France?").startswith("[simulated]")
        True
    """
    items = split_outside(spec, ",;\n") if isinstance(spec, str) else list(spec)
    if not items:
        raise NonSpecError("build_graph needs at least one node, e.g. ['3E@simulated/demo', '1M'].")
    return NonGraph([parse_node_spec(item, index=i) for i, item in enumerate(items)])
