"""Escape repair: after a call, no lazy value is left anywhere the glue put one.

The glue may store a lazy value where it outlives the call: ``self.history.append(r)``,
``self.last = r``, a module global, a closure cell, a mutable default, a dict key, a
``functools.cache``. When the call returns, every such holder must hold the real
value instead, as in plain Python.

How: the trace keeps every lazy value it created. Once the call is over and the
trace has dropped its own references, a lazy value whose reference count is above
what that list accounts for has escaped. That check costs one ``sys.getrefcount`` per
lazy value, so a call where nothing escaped pays almost nothing. Only when something
escaped are its holders found with ``gc.get_referrers`` (one pass over the tracked
objects) and patched in place: lists, deques, dicts (values and keys, keeping their
order), sets, cells, instance attributes and slots; an immutable holder (a tuple, a
frozenset, a function's defaults) is rebuilt and replaced in its own holders. The
cost of that pass is reported in stats (``escapes``, ``escape_repair_ms``).
"""

from __future__ import annotations

import collections
import gc
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.state import TaskState
from ember.xcs.tracing.lazy import Lazy

__all__ = ["EscapeReport", "repair"]

_get = object.__getattribute__
_MAX_ROUNDS = 4


@dataclass(frozen=True)
class EscapeReport:
    """What escape repair found after one call."""

    escaped: int = 0
    repaired: int = 0
    unrepaired: tuple[str, ...] = ()
    seconds: float = 0.0


_NOTHING = EscapeReport()


def repair(lazies: list[Lazy]) -> EscapeReport:
    """Replace every escaped lazy in ``lazies`` by its value wherever it is held.

    ``lazies`` must be the only reference the caller still holds to them.
    """
    # A reference from the list, one for getrefcount's argument: anything more escaped.
    escaped = [lazies[i] for i in range(len(lazies)) if sys.getrefcount(lazies[i]) > 2]
    if not escaped:
        return _NOTHING
    started = time.perf_counter()
    values: dict[int, Any] = {}
    for lazy in escaped:
        task = _get(lazy, "_xcs_task")
        if task.state is TaskState.DONE:
            values[id(lazy)] = task.value
    targets: dict[int, tuple[Any, Any]] = {id(lz): (lz, values[id(lz)])
                                           for lz in escaped if id(lz) in values}
    lazies.clear()
    escaped_count = len(escaped)
    del escaped
    unrepaired: list[str] = []
    repaired = 0
    rounds = 0
    while targets and rounds < _MAX_ROUNDS:
        rounds += 1
        replacements: dict[int, tuple[Any, Any]] = {}
        olds = [old for old, _ in targets.values()]
        ignore = {id(targets), id(olds), id(replacements)}
        for holder in gc.get_referrers(*olds):
            if id(holder) in ignore or type(holder) is types.FrameType:
                continue
            outcome = _patch(holder, targets)
            if outcome is None:
                unrepaired.append(type(holder).__name__)
            elif outcome is not holder:
                replacements[id(holder)] = (holder, outcome)
            else:
                repaired += 1
        del olds
        targets = replacements
    return EscapeReport(escaped_count, repaired, tuple(dict.fromkeys(unrepaired)),
                        time.perf_counter() - started)


def _swap(value: Any, targets: dict[int, tuple[Any, Any]]) -> Any:
    found = targets.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    return value


def _patch(holder: Any, targets: dict[int, tuple[Any, Any]]) -> Any:
    """Replace targets inside ``holder``; returns ``holder``, a rebuilt copy, or ``None``."""
    kind = type(holder)
    if isinstance(holder, list | collections.deque):
        for index, item in enumerate(list(holder)):
            new = _swap(item, targets)
            if new is not item:
                holder[index] = new
        return holder
    if isinstance(holder, dict):
        pairs = list(holder.items())
        new_pairs = [(_swap(k, targets), _swap(v, targets)) for k, v in pairs]
        if any(new_key is not key for (key, _), (new_key, _) in zip(pairs, new_pairs)):
            holder.clear()
            holder.update(new_pairs)
        else:
            for (key, value), (_, new) in zip(pairs, new_pairs):
                if new is not value:
                    holder[key] = new
        return holder
    if isinstance(holder, set):
        items = list(holder)
        holder.clear()
        holder.update(_swap(item, targets) for item in items)
        return holder
    if kind is types.CellType:
        holder.cell_contents = _swap(holder.cell_contents, targets)
        return holder
    if isinstance(holder, tuple | frozenset):
        items = [_swap(item, targets) for item in holder]
        node_kind = tree.kind_of(holder)
        if node_kind is tree.Kind.NAMEDTUPLE:
            return kind._make(items)
        try:
            return kind(items)
        except TypeError:
            return None
    if isinstance(holder, types.FunctionType):
        for name in ("__defaults__", "__kwdefaults__"):
            current = getattr(holder, name)
            if current is not None:
                setattr(holder, name, _patch(current, targets))
        return holder
    attributes = getattr(holder, "__dict__", None)
    patched = False
    if isinstance(attributes, dict):
        for name, item in list(attributes.items()):
            new = _swap(item, targets)
            if new is not item:
                attributes[name] = new
                patched = True
    for cls in kind.__mro__:
        for name in cls.__dict__.get("__slots__", ()):
            try:
                item = object.__getattribute__(holder, name)
            except (AttributeError, TypeError):
                continue
            new = _swap(item, targets)
            if new is not item:
                object.__setattr__(holder, name, new)
                patched = True
    return holder if patched else None
