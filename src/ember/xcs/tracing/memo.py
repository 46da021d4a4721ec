"""Matching op calls of a rerun against the run before it (the last-resort memo).

When the glue runs again from the top (C code rejected a lazy value the tracer did not
see coming), each op call is compared with the call at the same position in the run
before: same op, arguments that match (lazy values match their value, or an equivalent
lifted operation), so the earlier task is reused and no op runs twice. The rerun makes
the glue's objects again: an object of a class without an ``__eq__`` of its own matches
one of the same class whose attributes match, and a method op of such an object
(``Agent("x").ask(q)``) matches the same method of the object made before.
"""

from __future__ import annotations

import types
from typing import Any

from ember.xcs.engine.task import TaskState
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing.lazy import Lazy

__all__ = ["STEP", "reused_call", "same"]

STEP = 4  # items per op call in a trace's ``issued`` list: op, args, kwargs, lazy value

_get = object.__getattribute__
_IDENTITY_EQ: Any = object.__eq__  # the __eq__ of a class that defines none


def reused_call(memo: list[Any], position: int, op: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Lazy | None:
    """The lazy value of the call at ``position`` of the run before, if ``op`` called
    with these arguments matches it; ``None`` once the run has diverged.

    ``memo`` and ``position`` are flat: each call is ``STEP`` items (op, args, kwargs,
    lazy value), so ``position`` is ``STEP`` times the call's index.
    """
    if position + STEP <= len(memo):
        old_op, old_args, old_kwargs, lazy = memo[position:position + STEP]
        if _same_op(op, old_op) and same(args, old_args) and same(kwargs, old_kwargs):
            return lazy  # type: ignore[no-any-return]
    return None


def _same_op(new: Any, old: Any) -> bool:
    """The same op, or the same method op of an object that matches the one before."""
    if new.identity == old.identity:
        return True
    method, old_method = new.fn, old.fn
    return (type(method) is types.MethodType and type(old_method) is types.MethodType
            and method.__func__ is old_method.__func__
            and same(method.__self__, old_method.__self__))


def same(new: Any, old: Any, depth: int = 4) -> bool:
    """Whether ``new`` matches ``old`` for memo reuse (lazy values match their value)."""
    if new is old:
        return True
    if type(new) is Lazy or type(old) is Lazy:
        return _same_value(new, old)
    if type(new) is not type(old) or depth < 0:
        return False
    if isinstance(new, list | tuple):
        return len(new) == len(old) and all(same(a, b, depth - 1) for a, b in zip(new, old))
    if isinstance(new, dict):
        return new.keys() == old.keys() and all(same(new[k], old[k], depth - 1) for k in new)
    if type(new).__eq__ is _IDENTITY_EQ:  # made again by the rerun: matched by its fields
        fields, old_fields = getattr(new, "__dict__", None), getattr(old, "__dict__", None)
        return type(fields) is dict and type(old_fields) is dict \
            and same(fields, old_fields, depth - 1)
    try:
        return (new == old) is True
    except Exception:
        return False


def _same_value(new: Any, old: Any) -> bool:
    """Match where either side may be lazy: same task, an equivalent lifted task (same
    operation on matching inputs), or a finished task whose value matches."""
    new_task = _get(new, "_xcs_task") if type(new) is Lazy else None
    old_task = _get(old, "_xcs_task") if type(old) is Lazy else None
    if new_task is not None and new_task is old_task:
        return True
    if (new_task is not None and old_task is not None and new_task.kind is NodeKind.LIFTED
            and old_task.kind is NodeKind.LIFTED and new_task.fn is old_task.fn
            and new_task.name == old_task.name):
        return True
    for task in (new_task, old_task):
        if task is not None and task.state is not TaskState.DONE:
            return False
    left = new_task.value if new_task is not None else new
    right = old_task.value if old_task is not None else old
    return same(left, right)
