"""What the glue's stores replaced, so that a store of a value that never came is undone.

The glue runs ahead of its ops, so it may store an op's lazy value (``agent.last =
answer``, ``cache[key] = answer``, ``rows[i] = answer``) before that op fails. Plain
Python raised before the store, so the attribute, key or item kept what it held. For
each such store of a call (the rewritten glue reports it through
``runtime.changing``), ``StoreLog`` keeps what the slot held just before; escape
repair (``tracing.escapes``) puts that back where it finds the value that never came.
"""

from __future__ import annotations

from typing import Any

from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.lazy import Lazy

__all__ = ["ABSENT", "NO_SLOT", "StoreLog"]

ABSENT: Any = object()  # the slot held nothing: undoing the store deletes it
NO_SLOT: Any = object()  # the statement stores no attribute or key (a keyword default)


class StoreLog:
    """Per call: (container, slot) -> what the slot held before the glue's last store.

    The container of an attribute is the object's ``__dict__`` (what escape repair
    finds holding the value); of a key or index, the dict or list itself.
    """

    __slots__ = ("before", "holders")

    def __init__(self) -> None:
        self.before: dict[tuple[int, Any], tuple[Any, Any]] = {}
        # Containers the glue stored values in (by id): escape repair looks there first,
        # before it searches the heap for holders.
        self.holders: dict[int, Any] = {}

    def hold(self, container: Any) -> None:
        """Note that the glue put values in ``container`` (``out.append(r)``, ``d[k] = r``)."""
        self.holders[id(container)] = container

    def note(self, obj: Any, attr: Any, key: Any) -> None:
        """Remember what ``obj.attr`` (or ``obj[key]``) holds before the glue stores to it."""
        if attr is not NO_SLOT:
            try:
                container = object.__getattribute__(obj, "__dict__")
            except (AttributeError, TypeError):
                return  # slots, properties: not undone
            if type(container) is not dict:
                return
            slot, old = attr, container.get(attr, ABSENT)
        elif isinstance(obj, dict):
            container, slot = obj, key
            try:
                old = dict.get(obj, key, ABSENT)  # never __missing__ (a defaultdict adds)
            except TypeError:
                return  # an unhashable key: the store itself raises
        elif isinstance(obj, list) and type(key) is int:
            size = len(obj)
            if not -size <= key < size:
                return  # the store itself raises
            container, slot = obj, key % size
            old = list.__getitem__(obj, slot)
        else:
            return
        if type(old) is Lazy:  # kept by its task: a lazy value held here would look escaped
            old = _Earlier(object.__getattribute__(old, "_xcs_task"))
        self.holders[id(container)] = container
        try:
            self.before[(id(container), slot)] = (container, old)
        except TypeError:
            pass  # an unhashable slot

    def old(self, container: Any, slot: Any) -> Any:
        """What ``slot`` of ``container`` held before the last store; ``NO_SLOT`` if none
        was noted (or it held an op result of this call that never came)."""
        try:
            entry = self.before.get((id(container), slot))
        except TypeError:
            return NO_SLOT
        if entry is None or entry[0] is not container:
            return NO_SLOT
        old = entry[1]
        if type(old) is _Earlier:  # an earlier store of this call: its value, if it came
            task = old.task
            return task.value if task.state is TaskState.DONE else NO_SLOT
        return old


class _Earlier:
    """What a slot held: the value of an op of this call (by its task)."""

    __slots__ = ("task",)

    def __init__(self, task: Any) -> None:
        self.task = task
