"""``build_graph``: a NON spec as a runnable Operator.

The nodes run in this order: every ``E`` node's replicas are asked the question
(concurrently under ``@jit``, and across ``vmap`` items); then ``M`` (majority vote)
or ``J`` (judge) reduces the answers to one; then ``V`` checks it. Without ``M`` or
``J`` the graph returns the list of answers (or the answer, for one replica).

pyember's ``components={"name": [...]}`` and ``"$name"`` references, and nested lists,
are spliced into the node list in place. A nested group that holds a ``M``, ``J`` or
``V`` node next to other items would be a parallel branch with its own reducer, which a
``NonGraph`` (one ensemble stage, one reducer, one verifier) does not have: that raises
``NonSpecError`` with the way to build it (one graph per branch, combined by a ``Judge``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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

    def forward(self, question: Any = None, *, inputs: Mapping[str, Any] | None = None,
                query: Any = None) -> Any:
        """Run the graph on ``question`` (see the module docstring for the order).

        pyember's ``graph(inputs={"query": question})`` and ``graph(query=question)``
        (the keyword form its operators take) are the same call.
        """
        given = [form for form, value in (("graph(question)", question),
                                          ("graph(inputs={'query': question})", inputs),
                                          ("graph(query=question)", query)) if value is not None]
        if len(given) > 1:
            raise TypeError(f"NonGraph got the question {len(given)} times "
                            f"({' and '.join(given)}); pass it once.")
        if inputs is not None:
            if type(inputs) is dict and "query" not in inputs:
                raise TypeError(f"NonGraph: inputs needs a 'query' field, got keys "
                                f"{sorted(inputs)}; call graph(inputs={{'query': question}}).")
            question = inputs["query"]
        elif query is not None:
            question = query
        elif question is None:
            raise TypeError("NonGraph needs a question: graph(question), graph(query=question) "
                            "or graph(inputs={'query': question}).")
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


def build_graph(spec: str | Iterable[Any],
                components: Mapping[str, Any] | None = None) -> NonGraph:
    """Build a runnable graph from NON node strings.

    Args:
        spec: node strings (a list, or one string separated by commas, semicolons or
            newlines outside quotes and brackets), e.g.
            ``["5E@openai/gpt-4o(temp=0.7)", "1J@anthropic/claude"]``. An item may be a
            nested list of them, or ``"$name"`` for an entry of ``components``.
        components: pyember's named parts: ``{"name": spec}``, where ``spec`` is a node
            string, a list (nested lists and references allowed) or a ``NonGraph``.

    Returns:
        A ``NonGraph`` Operator: ``graph(question)``, ``graph(query=question)`` or
        ``graph(inputs={"query": question})``.

    Raises:
        NonSpecError: a node does not follow the notation; the graph has no
            ensemble, several reducers or several verifiers; an unknown or circular
            reference; a nested group with its own ``M``, ``J`` or ``V`` beside other
            items (a parallel branch, see the module docstring).
        ModelNotFoundError, ProviderNotFoundError, InvalidParamsError: a model id or
            parameter the models layer rejects.

    Example:
        >>> graph = build_graph(["3E@simulated/a(temp=0.7)", "1M"])
        >>> graph.spec
        '3E@simulated/a(temperature=0.7), M'
        >>> graph("Capital of France?").startswith("[simulated]")
        True
    """
    items = _node_strings(spec, components or {}, ())
    if not items:
        raise NonSpecError("build_graph needs at least one node, e.g. ['3E@simulated/demo', '1M'].")
    return NonGraph([parse_node_spec(item, index=i) for i, item in enumerate(items)])


def _node_strings(spec: Any, components: Mapping[str, Any], names: tuple[str, ...]) -> list[Any]:
    """``spec`` as a flat list of node specs, with references and nested groups spliced in.

    ``names``: the references being expanded (to refuse a circle).
    """
    if isinstance(spec, NonGraph):
        spec = spec.spec
    items = split_outside(spec, ",;\n") if isinstance(spec, str) else list(spec)
    flat: list[Any] = []
    for item in items:
        name = item.strip()[1:] if isinstance(item, str) and item.strip()[:1] == "$" else None
        if name is not None:
            if name not in components:
                raise NonSpecError(
                    f"NON reference {item!r}: no component named {name!r}; pass it as "
                    f"build_graph(..., components={{{name!r}: [...]}}) (given: "
                    f"{', '.join(map(repr, components)) or 'none'})."
                )
            if name in names:
                raise NonSpecError(f"NON reference {item!r} refers to itself: "
                                   f"{' -> '.join(f'${n}' for n in (*names, name))}.")
            group = _node_strings(components[name], components, (*names, name))
        elif isinstance(item, list | tuple | NonGraph):
            group = _node_strings(item, components, names)
        else:
            flat.append(item)
            continue
        if len(items) > 1 and len(group) > 1:
            _check_not_a_branch(item, group)
        flat.extend(group)
    return flat


def _check_not_a_branch(item: Any, group: list[Any]) -> None:
    """A group beside other items is spliced in; with its own M, J or V it would be a
    parallel branch, which a ``NonGraph`` cannot run."""
    roles = [parse_node_spec(node).type for node in group]
    own = next((t for t in roles if t.role is not NodeRole.ENSEMBLE), None)
    if own is None:
        return
    raise NonSpecError(
        f"NON group {item!r} holds its own {own.code} ({own.role.value}) node beside other "
        "items, which makes it a parallel branch; a NonGraph runs one ensemble stage, one "
        "M or J and one V, so branches are not supported. Build one graph per branch and "
        "combine them with ember.api.operators: answers = Ensemble([build_graph(branch_1), "
        "build_graph(branch_2)])(question), then Judge('provider/model')(question, answers) "
        "(concurrent under @jit). A group of E nodes only is fine: its replicas join the "
        "ensemble."
    )
