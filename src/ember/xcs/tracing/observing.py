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
import functools
import itertools
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.awaiting import ready
from ember.xcs.tracing.formatting import active_trace, real_value
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.outside import outside_value
from ember.xcs.tracing.proxy import CHANGED_IN_PLACE
from ember.xcs.tracing.rebinding import settle_rebound
from ember.xcs.tracing.usercode import has_user_special_methods

__all__ = ["LazyValue", "ainplace", "evaluator", "inplace", "key", "observe", "observe_deep",
           "unpacked", "yielded"]

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


def _changed_in_place(target: Any) -> bool:
    # A lazy target is not asked: its own in-place methods are lifted (tracing.proxy).
    # An object of the user's class (``total += r``, ``Money.__iadd__``) is given the
    # value, as plain Python gives it, not asked once with the lazy value and again.
    kind = type(target)
    return kind is not Lazy and (isinstance(target, CHANGED_IN_PLACE) or (
        kind not in tree.ATOMS and has_user_special_methods(kind)))


def inplace(target: Any, value: Any) -> Any:
    """The right operand of ``target += value``: the real object when ``target`` is a
    list, deque, set or dict, which it then extends or updates in place as in plain
    Python (the lazy value's ``__radd__`` would make a new one), or an object of the
    user's class, whose ``__iadd__``/``__add__`` plain Python gives the value; else
    ``value``."""
    if type(value) is Lazy and _changed_in_place(target):
        return observe(value, "in-place operator")
    return value


async def ainplace(target: Any, value: Any) -> Any:
    """``inplace`` for ``async def`` glue: the event loop runs while the value comes."""
    if type(value) is Lazy and _changed_in_place(target):
        return observe(await ready(value), "in-place operator")
    return value


_observe_unpacked = functools.partial(observe, reason="unpacking")
# Iterators whose items are tuples they make themselves: never a lazy value (their
# elements may be, which a nested target's shape looks at).
_FRESH_TUPLES = frozenset({type({}.items()), zip, enumerate})


def unpacked(items: Any, shape: tuple[Any, ...] | None = None) -> Any:
    """The items of a loop whose target unpacks them (``for a, b in pairs``), each its
    real object, so that a ``None`` among them gives plain Python's ``cannot unpack``
    error. ``shape`` describes a target that unpacks further (``for i, (a, b) in ...``):
    per position ``0``, ``"*"`` (a starred name) or the shape of the inner target."""
    kind = type(items)
    if shape is None:
        if kind in _FRESH_TUPLES or (kind is tuple and Lazy not in map(type, items)):
            return items  # nothing to make real (the check runs in C, not per turn)
        if kind is list and Lazy not in map(type, items):  # but what the loop appends
            known = len(items)
            return itertools.chain(itertools.islice(items, known),
                                   map(_observe_unpacked, itertools.islice(items, known, None)))
        return map(_observe_unpacked, items)
    return map(functools.partial(_real_shape, shape=shape), items)


def _real_shape(value: Any, shape: tuple[Any, ...]) -> Any:
    """``value`` real, and so are its items a nested target unpacks, where Python will
    unpack them without an error of its count (a tuple or list of the right length)."""
    value = observe(value, "unpacking")
    if type(value) is not tuple and type(value) is not list:
        return value
    starred = shape.index("*") if "*" in shape else None
    if starred is None:
        if len(value) != len(shape):
            return value
        positions = list(enumerate(shape))
    else:
        front, back = shape[:starred], shape[starred + 1:]
        if len(value) < len(front) + len(back):
            return value
        positions = list(enumerate(front))
        positions += [(len(value) - len(back) + i, inner) for i, inner in enumerate(back)]
    items = list(value)
    for index, inner in positions:
        if type(inner) is tuple:
            items[index] = _real_shape(items[index], inner)
    return type(value)(items) if any(a is not b for a, b in zip(items, value)) else value


def evaluator(fn: Any, frame_globals: dict[str, Any], frame_locals: Any) -> Any:
    """What a call of the name ``eval`` or ``exec`` calls: for the built-ins, one whose
    namespaces (those given, else the caller's globals and a snapshot of its locals, the
    ones they would use) hold values, not lazy ones, since the code they run is not
    rewritten, and whose source is a value too (an op's answer: the built-in refuses a
    lazy one); any other function of that name, itself."""
    if fn is not builtins.eval and fn is not builtins.exec:
        return fn

    def run(source: Any, *spaces: Any, **named: Any) -> Any:
        if not spaces and not named:
            spaces = (frame_globals, frame_locals)
        spaces = tuple(_namespace(space) for space in spaces)
        named = {k: _namespace(v) if k in ("globals", "locals") else v
                 for k, v in named.items()}
        trace = active_trace()
        source = real_value(source, trace, "eval/exec source")  # eval(llm_answer): its text
        if fn is builtins.exec and trace is not None \
                and getattr(trace, "ordering", None) is not None:  # it may store globals
            settle_rebound(trace, fn, (source, *spaces), named)
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
