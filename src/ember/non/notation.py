"""The compact NON notation: one string per node, ``[count]TYPE[!alias][@model][(k=v, ...)]``.

Node types (codes are case-insensitive; ``UE``, ``JF`` and ``MC`` are aliases):

- ``E`` ensemble: ``count`` replicas of a model, asked the same question concurrently;
- ``M`` majority vote (``MostCommon``) over the ensemble's answers, no model;
- ``J`` judge: a model picks the best ensemble answer;
- ``V`` verifier: a model checks the final answer (the graph returns a ``Verdict``).

Parameters: ``temp`` is short for ``temperature``; values are numbers, ``true``/
``false``, ``null`` (``None``), quoted strings (``'...'`` or ``"..."``; a doubled quote
inside stands for one, as in ``'it''s'``), JSON lists/dicts, or bare words. The legacy
forms ``count:TYPE:model:temperature`` (pyember's: a number last; a bare model name
is resolved by the models layer, ``gpt-4o`` → ``openai/gpt-4o``) and
``count:TYPE:provider:model[:temperature]`` are accepted too. ``str(node)`` and
``format_node`` write a node back in the notation so that it parses to the same node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ember.xcs.errors import XCSError

__all__ = [
    "NODE_TYPES",
    "NodeRole",
    "NodeType",
    "NonNode",
    "NonSpecError",
    "format_node",
    "parse_node_spec",
    "split_outside",
]


class NonSpecError(XCSError, ValueError):
    """A NON node string or graph does not follow the notation.

    The message quotes the string and says what is expected; fix the spec (see
    ``ember.non.notation`` for the grammar).
    """


class NodeRole(StrEnum):
    """What a node does in the graph."""

    ENSEMBLE = "ensemble"
    AGGREGATOR = "aggregator"
    JUDGE = "judge"
    VERIFIER = "verifier"


@dataclass(frozen=True)
class NodeType:
    """One node type of the notation.

    Attributes:
        code: the canonical code (``E``, ``M``, ``J``, ``V``).
        role: what the node does.
        description: one line for docs and ``repr``.
        requires_model: the node must name a model (``@provider/model``).
    """

    code: str
    role: NodeRole
    description: str
    requires_model: bool


_ENSEMBLE = NodeType("E", NodeRole.ENSEMBLE, "replicas of a model asked concurrently", True)
_VOTE = NodeType("M", NodeRole.AGGREGATOR, "majority vote over the answers", False)
_JUDGE = NodeType("J", NodeRole.JUDGE, "a model picks the best answer", True)
_VERIFIER = NodeType("V", NodeRole.VERIFIER, "a model checks the final answer", True)

NODE_TYPES: Mapping[str, NodeType] = {
    "E": _ENSEMBLE, "UE": _ENSEMBLE, "M": _VOTE, "MC": _VOTE,
    "J": _JUDGE, "JF": _JUDGE, "V": _VERIFIER,
}


@dataclass(frozen=True)
class NonNode:
    """One parsed node.

    Attributes:
        id: the alias, or the code and position (``e1``, ``j2``).
        type: its ``NodeType``.
        count: how many replicas (``E``) or 1.
        model: the model id, or ``None``.
        params: model parameters (``temperature`` ...).
        spec: the original string.
    """

    id: str
    type: NodeType
    count: int
    model: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    spec: str = ""

    def __str__(self) -> str:
        return format_node(self)


def format_node(node: NonNode, index: int | None = None) -> str:
    """``node`` in the notation, written so that ``parse_node_spec`` reads it back the same.

    Args:
        node: the node.
        index: its position in a graph: the alias is written unless it is the default
            name for that position. Without it, an alias is written unless it looks
            like a default name (``e1``, ``m2``, ...).

    Example:
        >>> print(format_node(parse_node_spec('2E@simulated/a(stop=["x"], system="a; b")')))
        2E@simulated/a(stop=["x"], system='a; b')
    """
    code = node.type.code
    count = str(node.count) if node.count != 1 or node.type.role is NodeRole.ENSEMBLE else ""
    if index is None:
        default = re.fullmatch(rf"{code.lower()}\d+", node.id) is not None
    else:
        default = node.id == f"{code.lower()}{index + 1}"
    alias = "" if default else f"!{node.id}"
    model = f"@{node.model}" if node.model else ""
    params = ", ".join(f"{key}={_format_value(value)}" for key, value in node.params.items())
    return f"{count}{code}{alias}{model}{f'({params})' if params else ''}"


def _format_value(value: Any) -> str:
    """A parameter value as ``_value`` reads it back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        quote = "'" if "'" not in value else '"'
        return quote + value.replace(quote, quote * 2) + quote
    if isinstance(value, list | tuple | dict):
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
    return repr(value)  # not expressible in the notation; shown as Python would


_NODE = re.compile(
    r"^\s*(?P<count>\d+)?(?P<code>[A-Za-z]{1,2})(?:!(?P<alias>[A-Za-z_][\w-]*))?"
    r"(?:@(?P<model>[^()\s]+))?(?:\((?P<params>.*)\))?\s*$",
    re.DOTALL,  # a quoted parameter value may hold a newline
)


def parse_node_spec(spec: str, *, index: int = 0) -> NonNode:
    """Parse one node string.

    Args:
        spec: e.g. ``"5E@openai/gpt-4o(temp=0.7)"``, ``"1M"``, ``"1J@anthropic/claude"``.
        index: the node's position (names nodes without an alias).

    Returns:
        The ``NonNode``.

    Raises:
        NonSpecError: not the notation, an unknown code, a missing or unexpected
            model, a zero count, or a count other than 1 for ``M``/``J``/``V``.

    Example:
        >>> node = parse_node_spec("3E@simulated/a(temp=0.5)")
        >>> node.count, node.model, dict(node.params)
        (3, 'simulated/a', {'temperature': 0.5})
    """
    if not isinstance(spec, str):
        raise NonSpecError(f"NON node specs are strings, got {type(spec).__name__} {spec!r}.")
    match = _NODE.match(spec)
    if match is None:
        if ":" in spec:
            return _parse_legacy(spec, index)
        raise NonSpecError(
            f"NON node {spec!r} does not follow [count]TYPE[!alias][@provider/model][(k=v)], "
            "e.g. '5E@openai/gpt-4o(temp=0.7)' or '1M'."
        )
    code = match["code"].upper()
    count = int(match["count"]) if match["count"] else 1
    params = _parse_params(match["params"], spec) if match["params"] is not None else {}
    return _node(spec, index, code, count, match["model"], params, match["alias"])


def _parse_legacy(spec: str, index: int) -> NonNode:
    """The colon forms: pyember's ``count:TYPE:model:temperature`` (a number last) and
    ``count:TYPE:provider:model[:temperature]``; ``count:TYPE[:model]`` too."""
    parts = [part.strip() for part in spec.split(":")]
    temperature = None
    if len(parts) < 2 or len(parts) > 5 or not parts[0].isdigit():
        raise _legacy_error(spec, "it has the wrong number of ':'-separated fields")
    if len(parts) == 4 and _is_number(parts[3]):  # pyember's count:TYPE:model:temperature
        model, temperature = parts[2], parts[3]
    elif len(parts) >= 4 and "/" in parts[2]:
        raise _legacy_error(spec, f"{parts[2]!r} is already provider/model, so "
                                  f"{parts[3]!r} should be a temperature (a number)")
    else:
        model = "/".join(p for p in parts[2:4] if p)
        temperature = parts[4] if len(parts) == 5 and parts[4] else None
    params: dict[str, Any] = {}
    if temperature is not None:
        if not _is_number(temperature):
            raise _legacy_error(spec, f"the temperature {temperature!r} is not a number")
        params["temperature"] = _value(temperature)
    return _node(spec, index, parts[1].upper(), int(parts[0]), model or None, params, None)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _legacy_error(spec: str, problem: str) -> NonSpecError:
    return NonSpecError(
        f"NON node {spec!r}: {problem}. The colon forms are count:TYPE:model:temperature "
        "(pyember's, e.g. '3:E:gpt-4o:0.7' or '3:E:openai/gpt-4o:0.7') and "
        "count:TYPE:provider:model[:temperature] (e.g. '3:E:openai:gpt-4o:0.7'); "
        "or write the node as '3E@openai/gpt-4o(temp=0.7)'."
    )


def _node(spec: str, index: int, code: str, count: int, model: str | None,
          params: dict[str, Any], alias: str | None) -> NonNode:
    node_type = NODE_TYPES.get(code)
    if node_type is None:
        raise NonSpecError(
            f"NON node {spec!r}: unknown type {code!r}; known types are "
            f"{', '.join(sorted(NODE_TYPES))} (E ensemble, M majority vote, J judge, V verifier)."
        )
    if count < 1:
        raise NonSpecError(f"NON node {spec!r}: the count must be at least 1.")
    if node_type.role is not NodeRole.ENSEMBLE and count != 1:
        raise NonSpecError(
            f"NON node {spec!r}: a {node_type.role.value} node has count 1 "
            f"(write '1{node_type.code}...' or '{node_type.code}...')."
        )
    if node_type.requires_model and not model:
        raise NonSpecError(
            f"NON node {spec!r}: a {node_type.role.value} node needs a model, e.g. "
            f"'{count}{node_type.code}@simulated/demo'."
        )
    if not node_type.requires_model and (model or params):
        raise NonSpecError(
            f"NON node {spec!r}: a {node_type.role.value} node takes no model or parameters."
        )
    return NonNode(alias or f"{node_type.code.lower()}{index + 1}", node_type, count, model,
                   params, spec.strip())


def _parse_params(text: str, spec: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in split_outside(text, ","):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise NonSpecError(f"NON node {spec!r}: parameter {item!r} is not key=value.")
        name = key.strip()
        params["temperature" if name.lower() in ("temp", "temperature") else name] = _value(
            value.strip())
    return params


def split_outside(text: str, separators: str) -> list[str]:
    """``text`` split at any of ``separators`` outside quotes and brackets.

    Quotes are ``'`` and ``"`` (a doubled quote closes and reopens, so it splits
    nothing); inside a JSON list or dict a backslash escapes the next character of a
    string, as JSON does. Items are stripped; empty ones are dropped.

    Example:
        >>> split_outside('a(x="1, 2"), b; c', ",;")
        ['a(x="1, 2")', 'b', 'c']
    """
    items: list[str] = []
    current: list[str] = []
    brackets: list[str] = []
    quote, escaped = "", False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and ("[" in brackets or "{" in brackets):
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            brackets.append(char)
        elif char in "]})":
            if brackets:
                brackets.pop()
        elif char in separators and not brackets:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].replace(text[0] * 2, text[0])
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "null":
        return None
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
