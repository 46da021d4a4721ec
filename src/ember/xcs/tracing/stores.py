"""What the glue's stores replaced, so that a store of a value that never came is undone.

The glue runs ahead of its ops, so it may store an op's lazy value (``agent.last =
answer``, ``cache[key] = answer``, ``rows[i] = answer``) before that op fails. Plain
Python raised before the store, so the attribute, key or item kept what it held. For
each such store of a call (the rewritten glue reports it through
``runtime.changing``), ``StoreLog`` keeps what the slot held just before; escape
repair (``tracing.escapes``) puts that back where it finds the value that never came.
"""

from __future__ import annotations

import collections
import types
from typing import Any

from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.usercode import hashes_in_user_code

__all__ = ["ABSENT", "CELL", "NO_SLOT", "StoreLog"]

ABSENT: Any = object()  # the slot held nothing: undoing the store deletes it
CELL = "cell_contents"  # the slot of a closure cell
NO_SLOT: Any = object()  # the statement stores no attribute or key (a keyword default)


class StoreLog:
    """Per call: (container, slot) -> what the slot held before the glue's last store.

    The container of an attribute is the object's ``__dict__`` (what escape repair
    finds holding the value), or the object itself for a slot; of a key or index, the
    dict or list itself; of a closure cell, the cell.
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
            except (AttributeError, TypeError):  # slots only
                member = _slot_of(obj, attr)
                if member is None:
                    return  # a property, a descriptor: given values (tracing.guards)
                container, slot = obj, attr
                try:
                    old = member.__get__(obj, type(obj))
                except AttributeError:
                    old = ABSENT
            else:
                if type(container) is not dict:
                    return
                slot, old = attr, container.get(attr, ABSENT)
        elif isinstance(obj, dict):
            if hashes_in_user_code(key):
                return  # never looked up again: the store waits for its value (guards.stored)
            container, slot = obj, key
            try:
                old = dict.get(obj, key, ABSENT)  # never __missing__ (a defaultdict adds)
            except TypeError:
                return  # an unhashable key: the store itself raises
        elif isinstance(obj, list | collections.deque) and type(key) is int:
            size = len(obj)
            if not -size <= key < size:
                return  # the store itself raises
            container, slot = obj, key % size
            # never a subclass's own __getitem__
            old = list.__getitem__(obj, slot) if isinstance(obj, list) \
                else collections.deque.__getitem__(obj, slot)
        else:
            return
        self._keep(container, slot, old)

    def note_update(self, target: dict[Any, Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> None:
        """Remember what the keys ``target.update(*args, **kwargs)`` (or ``target |=
        args[0]``) sets held: those of a dict argument, of a list or tuple of pairs, and
        the keywords (an iterator is not read twice)."""
        given = args[0] if len(args) == 1 else ()
        if type(given) is dict:
            for key in given:
                self.note(target, NO_SLOT, key)
        elif type(given) in (list, tuple):
            for pair in given:
                if type(pair) in (list, tuple) and len(pair) == 2:
                    self.note(target, NO_SLOT, pair[0])
        for key in kwargs:
            self.note(target, NO_SLOT, key)

    def note_cell(self, probe: Any) -> None:
        """Remember what the closure cell of ``probe`` (``lambda: name``, made where the
        glue binds ``name``, a ``nonlocal`` or a variable a nested function reads) holds
        before the glue binds it."""
        if not probe.__closure__:
            return  # the name is a global there
        cell = probe.__closure__[0]
        try:
            old = cell.cell_contents
        except ValueError:
            old = ABSENT
        self._keep(cell, CELL, old)

    def _keep(self, container: Any, slot: Any, old: Any) -> None:
        try:
            place = (id(container), slot)
            earlier = self.before.get(place)
        except TypeError:
            return  # an unhashable slot
        if type(old) is Lazy:  # kept by its task: a lazy value held here would look escaped
            # What the store that put it there replaced, should its value never come too.
            replaced = earlier[1] if earlier is not None and earlier[0] is container \
                else NO_SLOT
            old = _Earlier(object.__getattribute__(old, "_xcs_task"), replaced)
        self.holders[id(container)] = container
        self.before[place] = (container, old)

    def old(self, container: Any, slot: Any) -> Any:
        """What ``slot`` of ``container`` held before the last store (before the stores of
        op results of this call that never came); ``NO_SLOT`` if none was noted."""
        try:
            entry = self.before.get((id(container), slot))
        except TypeError:
            return NO_SLOT
        if entry is None or entry[0] is not container:
            return NO_SLOT
        old = entry[1]
        while type(old) is _Earlier:  # an earlier store of this call: its value, if it came,
            if old.task.state is TaskState.DONE:
                return old.task.value
            old = old.replaced  # else what that store replaced
        return old


def _slot_of(obj: Any, attr: Any) -> Any:
    """The member descriptor of slot ``attr`` of ``obj``'s class, else ``None``."""
    for klass in type(obj).__mro__:
        found = klass.__dict__.get(attr) if type(attr) is str else None
        if found is not None:
            return found if type(found) is types.MemberDescriptorType else None
    return None


class _Earlier:
    """What a slot held: the value of an op of this call (by its task), and what the
    store that put it there replaced (``NO_SLOT``: not noted)."""

    __slots__ = ("replaced", "task")

    def __init__(self, task: Any, replaced: Any) -> None:
        self.task = task
        self.replaced = replaced
