"""What rewritten glue hands over to be observed: the real objects behind lazy values.

The helpers of ``tracing.runtime`` (reachable from rewritten code as ``__xcs_rt__``)
for the sites where the glue looks at a value itself rather than operating on it: the
operands of ``is`` (``observe``), the subject of ``match`` (``observe_deep``) and the
class pattern ``LazyValue`` (``tracing.patterns``), a subscript's index (``key``), what
a generator of the glue yields (``yielded``), and the namespaces of ``eval``/``exec``
(``evaluator``). Outside a trace each gives back what it was given.
"""

from __future__ import annotations

import builtins
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.formatting import active_trace, real_value
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.outside import outside_value

__all__ = ["LazyValue", "evaluator", "key", "observe", "observe_deep", "yielded"]

_get = object.__getattribute__


def yielded(value: Any) -> Any:
    """What a generator of the glue yields: an op result of a call that has ended comes
    out as its value (the generator outlived the call; escape repair cannot reach what
    its frame holds), one of a running call stays lazy."""
    if type(value) is Lazy:
        return outside_value(value) if _get(value, "_xcs_trace").finished else value
    if type(value) in tree.ATOMS or not tree.contains(value, Lazy):
        return value
    return tree.replace(value, _ended_value, Lazy)


def _ended_value(lazy: Lazy) -> Any:
    return outside_value(lazy) if _get(lazy, "_xcs_trace").finished else lazy


def observe(value: Any, reason: str = "is") -> Any:
    """The real object behind ``value`` (an operand of ``is``, ``is not``)."""
    if type(value) is not Lazy:
        return value
    return real_value(value, active_trace(), reason)


def evaluator(fn: Any, frame_globals: dict[str, Any], frame_locals: Any) -> Any:
    """What a call of the name ``eval`` or ``exec`` calls: for the built-ins, one whose
    namespaces (those given, else the caller's globals and a snapshot of its locals, the
    ones they would use) hold values, not lazy ones, since the code they run is not
    rewritten; any other function of that name, itself."""
    if fn is not builtins.eval and fn is not builtins.exec:
        return fn

    def run(source: Any, *spaces: Any, **named: Any) -> Any:
        if not spaces and not named:
            spaces = (frame_globals, frame_locals)
        spaces = tuple(_namespace(space) for space in spaces)
        named = {k: _namespace(v) if k in ("globals", "locals") else v
                 for k, v in named.items()}
        return fn(source, *spaces, **named)

    return run


def _namespace(mapping: Any) -> Any:
    trace = active_trace()
    if trace is None or type(mapping) is not dict or not trace.lazies:
        return mapping
    return trace.force_tree(mapping, "eval/exec namespace", records=True)


def key(index: Any) -> Any:
    """A subscript's index or slice bound: a lazy one is its real object, which the
    container reads as it is (``rows[:limit]`` with ``None``, ``grid[cell]`` with a
    tuple, ``options[choice]`` with a str raising the container's own error)."""
    if type(index) is not Lazy:
        return index
    return real_value(index, active_trace(), "index")


def observe_deep(value: Any, reason: str = "match") -> Any:
    """``value`` with every lazy value inside replaced by its real object (the subject
    of ``match``, an ``assert``'s message)."""
    if type(value) is Lazy:
        value = real_value(value, active_trace(), reason)
    trace = active_trace()
    if trace is None or not trace.lazies:
        return value
    return trace.force_tree(value, reason, records=True)


class _LazyValueType(type):
    def __instancecheck__(cls, value: Any) -> bool:
        return type(value) is Lazy


class LazyValue(metaclass=_LazyValueType):
    """The class pattern ``LazyValue(P)`` (``tracing.patterns``): a lazy value whose value
    (``Lazy._xcs_value``, a barrier) matches ``P``."""

    __match_args__ = ("_xcs_value",)
