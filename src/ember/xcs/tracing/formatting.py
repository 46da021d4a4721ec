"""F-strings, ``%`` formatting and ``in`` over lazy values, for rewritten glue.

``tracing.runtime`` hands these to rewritten code (``__xcs_rt__.fmt`` and so on): each
does what its expression does on real values, lifts the operation when a lazy value
is involved and the site allows it, and otherwise waits for the values first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.awaiting import AfterWaiting, Ready, Waiting, pending
from ember.xcs.tracing.context import _local
from ember.xcs.tracing.frames import CallMode
from ember.xcs.tracing.lazy import Lazy

__all__ = ["acontains", "active_trace", "contains", "fmt", "fstring", "imod", "mod", "real_value"]

_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


def active_trace() -> Any:
    """The trace recording the running glue, or ``None``."""
    trace = _local.trace
    if trace is None or not hasattr(trace, "lift"):
        return None
    return trace


def real_value(value: Any, trace: Any, reason: str) -> Any:
    """``value``, or the value behind it if it is lazy (a barrier for ``reason``)."""
    if type(value) is not Lazy:
        return value
    owner = object.__getattribute__(value, "_xcs_trace")
    return owner.force(value, reason)


def _real_tree(value: Any, trace: Any) -> Any:
    if trace is None:
        return tree.replace(value, lambda v: real_value(v, None, "%"), Lazy)
    return trace.force_tree(value, "%")


def fmt(value: Any, conversion: int, spec: Any) -> Any:
    """One ``{value!conversion:spec}`` field of an f-string."""
    if type(value) is not Lazy and type(spec) is not Lazy:
        if type(value) not in tree.ATOMS:
            value = _with_values(value, "f-string")
        if conversion > 0:
            value = _CONVERSIONS[conversion](value)
        return format(value, spec) if spec is not None else format(value)
    trace = active_trace()
    if trace is None or trace.site_mode() is not CallMode.LAZY:
        value = real_value(value, trace, "f-string")
        spec = real_value(spec, trace, "f-string")
        if conversion > 0:
            value = _CONVERSIONS[conversion](value)
        return format(value, spec) if spec is not None else format(value)
    return trace.lift("format", _format_field, (value, conversion, spec), {})


def _with_values(value: Any, reason: str) -> Any:
    """``value`` (no lazy value itself) for C code that runs its special methods
    (``__format__``, ``__str__``, ``__repr__``): the op results its objects hold, at any
    depth, resolved first, as ``str(obj)`` does, since such a method returning one of them
    would be refused (``__str__ returned non-string``)."""
    trace = active_trace()
    if trace is None or not trace.lazies or not tree.contains(value, Lazy, records=True):
        return value
    return trace.force_tree(value, reason, records=True)


def _format_field(value: Any, conversion: int, spec: Any) -> str:
    if conversion > 0:
        value = _CONVERSIONS[conversion](value)
    return format(value, spec) if spec is not None else format(value)


def fstring(*parts: Any) -> Any:
    """The f-string made of ``parts`` (formatted fields and literal text)."""
    for part in parts:
        if type(part) is Lazy:
            break
    else:
        return "".join(parts)
    trace = active_trace()
    if trace is None:
        return "".join(str(real_value(p, None, "f-string")) for p in parts)
    return trace.lift("f-string", _join_parts, parts, {})


def _join_parts(*parts: str) -> str:
    return "".join(parts)


def mod(left: Any, right: Any) -> Any:
    """``left % right`` (printf-style formatting or modulo) with lazy operands lifted."""
    if type(left) is not Lazy and type(right) is not Lazy and not (
        type(right) in (tuple, dict) and tree.contains(right, Lazy)
    ):
        if type(right) not in tree.ATOMS:  # "%s" % obj runs obj's __str__, "%s" % (obj,) too
            right = _with_values(right, "%")
        return left % right
    trace = active_trace()
    if trace is None or trace.site_mode() is not CallMode.LAZY:
        return _real_tree(left, trace) % _real_tree(right, trace)
    if type(left) is Lazy:
        return left % right  # Lazy.__mod__: lifted, ordered with the value's other uses
    return trace.lift("mod", _modulo, (left, right), {})


def _modulo(left: Any, right: Any) -> Any:
    return left % right


def imod(left: Any, right: Any) -> Any:
    """``left %= right`` for a plain name target."""
    if type(left) is Lazy:
        left %= right
        return left
    return mod(left, right)


def contains(item: Any, container: Any, negated: bool = False) -> Any:
    """``item in container`` (or ``not in``) with a lazy item or container lifted.

    A container written in C (``str``, ``bytes``) checks the item's type before any
    comparison, so a proxy on the left is rejected where its value would not be.
    """
    if type(item) is not Lazy and type(container) is not Lazy:
        return (item not in container) if negated else (item in container)
    trace = active_trace()
    if trace is None or trace.site_mode() is not CallMode.LAZY:
        found = _real_tree(item, trace) in _real_tree(container, trace)
        return not found if negated else found
    return trace.lift("not in" if negated else "in", _not_in if negated else _in,
                      (item, container), {})


def acontains(item: Any, container: Any, negated: bool = False) -> Any:
    """``contains`` in ``async def`` glue: an awaitable of its result. When the check
    cannot be lifted and needs op results now (an item or container of the user's
    class, a site in a ``try`` block, lazy items of a list), they are awaited first,
    so that the event loop runs on instead of blocking until the ops end."""
    trace = active_trace()
    if trace is None or not trace.lazies:
        return Ready(contains(item, container, negated))
    found = [value for value in (item, container) if type(value) is Lazy]
    lifted = bool(found)
    if type(container) is list or type(container) is tuple:
        found += [value for value in container if type(value) is Lazy]
    waits = pending(found) if found else []
    if waits and not (lifted and trace.lifts(trace.site_mode(), "in", (item, container), {})):
        return AfterWaiting(Waiting(waits, None), contains, (item, container, negated), {})
    return Ready(contains(item, container, negated))


def _in(item: Any, container: Any) -> bool:
    return item in container


def _not_in(item: Any, container: Any) -> bool:
    return item not in container
