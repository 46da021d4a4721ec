"""Escape repair: after a call, no lazy value is left anywhere the glue put one.

The glue may store a lazy value where it outlives the call: ``self.history.append(r)``,
``self.last = r``, a module global, a closure cell, a mutable default, a dict key, a
``functools.cache``. When the call returns, every such holder must hold the real
value instead, as in plain Python.

How: the trace keeps every lazy value it created. Once the call is over and the
trace has dropped its own references, a lazy value whose reference count is above
what that list accounts for has escaped. That check costs one ``sys.getrefcount`` per
lazy value, so a call where nothing escaped pays almost nothing. When something
escaped, the containers the glue was seen storing into (``out.append(r)``,
``d[k] = r``, ``self.last = r``: noted in ``tracing.stores``) are patched first, then,
for a call that raised, what the frames its exception unwound reach (``tracing.unwound``);
only values still held elsewhere are searched for with ``gc.get_referrers`` (one pass over
the tracked objects, whose cost grows with the process's heap; see ``_referrers`` for
frozen ones). Holders are patched in place: lists, deques,
dicts (values and keys, keeping their order), sets, cells, instance attributes and
slots; an immutable holder (a tuple, a frozenset, a function's defaults) is rebuilt
and replaced in its own holders. The cost of that pass is reported in stats
(``escapes``, ``escape_repair_ms``).

A lazy value whose op never produced a value (the call failed, and the glue had run
ahead and stored the value of an op that was then cancelled) is taken out of the
lists, deques, dicts and sets holding it, as if the store had not happened, which is
what plain Python would have done; so is a tuple or a dataclass built from it
(``(q, answer)``, ``Turn(q, answer)`` appended to a list). Where the store replaced
something (``agent.last = answer``, a slot, ``cache[k] = answer``, ``rows[i] = answer``,
a ``nonlocal`` rebound), that comes back (``tracing.stores``).
Anywhere else it stays and is counted in ``unrepaired_escapes`` (docs/semantics.md,
"after a failure").
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.stores import ABSENT, CELL, NO_SLOT, StoreLog
from ember.xcs.tracing.unwound import held_only_by, holders_near

__all__ = ["EscapeReport", "repair"]

_get = object.__getattribute__
_MAX_ROUNDS = 4


class _Remove:
    """Stands for "take this out of its holder": its op never produced a value."""

    def __repr__(self) -> str:
        return "<removed>"


_REMOVE: Any = _Remove()


@dataclass(frozen=True)
class EscapeReport:
    """What escape repair found after one call."""

    escaped: int = 0
    repaired: int = 0
    unrepaired: tuple[str, ...] = ()
    seconds: float = 0.0


_NOTHING = EscapeReport()


def repair(lazies: list[Lazy], stores: StoreLog | None = None,
           frames: list[types.FrameType] | None = None) -> EscapeReport:
    """Replace every escaped lazy in ``lazies`` by its value wherever it is held.

    ``lazies`` must be the only reference the caller still holds to them. ``stores``:
    what the call's stores replaced, put back where a value never came. ``frames``: those
    the exception the call raises unwound (``tracing.unwound``), searched before the heap.
    """
    log = stores if stores is not None else StoreLog()
    known = _living(log.holders)  # the glue's containers that outlive the call
    # A reference from the list, one for getrefcount's argument: anything more escaped.
    escaped = [lazies[i] for i in range(len(lazies)) if sys.getrefcount(lazies[i]) > 2]
    if not escaped:
        return _NOTHING
    started = time.perf_counter()
    targets: dict[int, tuple[Any, Any]] = {}
    for lazy in escaped:
        task = _get(lazy, "_xcs_task")
        targets[id(lazy)] = (lazy, task.value if task.state is TaskState.DONE else _REMOVE)
    lazies.clear()
    escaped_count = len(escaped)
    del escaped, lazy, task  # no reference the holders' search would not see
    repaired = _patch_all(known, targets, log)  # where the glue is known to have put them
    known.clear()
    if frames:  # a failed call: its frames' locals hold what escaped, most likely
        repaired += _patch_all(holders_near(frames, set(targets)), targets, log)
    # Referred to by its entry of `targets` and getrefcount's argument; more: still held.
    left = {key: entry for key, entry in targets.items() if sys.getrefcount(entry[0]) > 2}
    if frames and left:  # held by the frames themselves (never patched), or elsewhere?
        olds = [old for old, _ in left.values()]
        if held_only_by(olds, [olds, *left.values(), *frames]):
            left = {}
        del olds
    if not left:
        return EscapeReport(escaped_count, repaired, (), time.perf_counter() - started)
    targets = left
    del left
    unrepaired: list[str] = []
    rounds = 0
    while targets and rounds < _MAX_ROUNDS:
        rounds += 1
        replacements: dict[int, tuple[Any, Any]] = {}
        olds = [old for old, _ in targets.values()]
        # The search's own objects, the entries of `targets` included: each (old, new)
        # pair refers to its old value, and taken for a holder it would be rebuilt and
        # searched for again, round after round, each a pass over the whole heap.
        ignore = {id(targets), id(olds), id(replacements), *map(id, targets.values())}
        for holder in _referrers(olds, rounds == 1):
            if id(holder) in ignore or type(holder) is types.FrameType:
                continue
            outcome = _patch(holder, targets, log)
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


def _patch_all(holders: list[Any], targets: dict[int, tuple[Any, Any]],
               stores: StoreLog) -> int:
    """Patch ``holders`` in place; how many were (a rebuilt tuple is left to the search)."""
    return sum(1 for holder in holders if _patch(holder, targets, stores) is holder)


def _living(holders: dict[int, Any]) -> list[Any]:
    """The noted containers something besides the note still refers to (the glue's
    local lists are gone with its frame); the note lets go of them all."""
    alive = [holder for holder in holders.values() if sys.getrefcount(holder) > 3]
    holders.clear()  # (beyond the dict, the comprehension's variable and the argument)
    return alive


def _referrers(olds: list[Any], lazies: bool) -> list[Any]:
    """``gc.get_referrers``, and the frozen objects too when a holder may be among them.

    Objects frozen by ``gc.freeze()`` (forking servers freeze their module state after
    start-up) are invisible to the search. When the lazy values (``lazies``: the first
    round) have more references than the holders found account for, the process's
    objects are unfrozen for good and searched: freezing them again would also freeze
    this call's own objects, and leak the garbage among them. References the collector
    cannot see (a running frame of another thread holding the value) count as such too:
    correctness first, the freeze is a memory hint.
    """
    holders = _search(olds)
    if lazies and gc.get_freeze_count() and not held_only_by(olds, holders):
        gc.unfreeze()
        holders = _search(olds)
    return holders


def _search(olds: list[Any]) -> list[Any]:
    """``gc.get_referrers(*olds)``, less the tuple of that call's own arguments, which
    refers to every value sought (3.13 tracks it): taken for a holder, it would be
    rebuilt and searched for again, round after round."""
    found = gc.get_referrers(*olds)
    return [holder for holder in found if not _own_arguments(holder, olds)]


def _own_arguments(holder: Any, olds: list[Any]) -> bool:
    # Referred to only by the list found (and, here, the comprehension's variable, this
    # argument and getrefcount's): nothing of the program's holds it.
    return (type(holder) is tuple and len(holder) == len(olds)
            and sys.getrefcount(holder) <= 4
            and all(item is old for item, old in zip(holder, olds)))


def _swap(value: Any, targets: dict[int, tuple[Any, Any]]) -> Any:
    found = targets.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    return value


def _settled(value: Any, targets: dict[int, tuple[Any, Any]]) -> Any:
    """``_swap`` for holders that cannot drop an item: a value that never came stays."""
    new = _swap(value, targets)
    return value if new is _REMOVE else new


def _undone(holder: Any, slot: Any, new: Any, targets: dict[int, tuple[Any, Any]],
            stores: StoreLog) -> Any:
    """``new`` for ``slot`` of ``holder``; for a value that never came, what a store of
    the glue replaced there (``ABSENT``: nothing), else ``_REMOVE``."""
    if new is not _REMOVE:
        return new
    old = stores.old(holder, slot)
    return _REMOVE if old is NO_SLOT else old


def _class_of(namespace: dict[Any, Any]) -> type | None:
    """The class whose namespace ``namespace`` is, if it is one.

    A class attribute changed in its dict directly would leave the interpreter's type
    attribute caches pointing at the value replaced, which the repair then frees (a
    crash at the next read of the attribute); ``type.__setattr__`` invalidates them.
    """
    if "__module__" not in namespace:  # every class statement's namespace has it
        return None
    for referrer in gc.get_referrers(namespace):
        if isinstance(referrer, type) and len(referrer.__dict__) == len(namespace) and all(
                referrer.__dict__.get(key, _REMOVE) is value
                for key, value in namespace.items()):
            return referrer
    return None


def _built_in(kind: type, name: str) -> Any:
    """``kind``'s method ``name`` as its built-in base (or a C subclass such as
    ``OrderedDict``) defines it, past any Python override: replacing a lazy value by its
    value is not a new store, so the user's ``__setitem__`` (which already ran, with the
    lazy value) must not run again."""
    for klass in kind.__mro__:
        method = klass.__dict__.get(name)
        if method is not None and type(method) is not types.FunctionType:
            return method
    return getattr(kind, name)


def _patch(holder: Any, targets: dict[int, tuple[Any, Any]], stores: StoreLog) -> Any:
    """Replace targets inside ``holder``; returns ``holder``, a rebuilt copy, or ``None``."""
    kind = type(holder)
    if isinstance(holder, list | collections.deque):
        items = list(holder)
        new_items = [_swap(item, targets) for item in items]
        # rows[i] = answer: the item it replaced comes back
        new_items = [_undone(holder, index, new, targets, stores)
                     for index, new in enumerate(new_items)]
        setitem = _built_in(kind, "__setitem__")
        if any(item is _REMOVE for item in new_items):  # never ==: arrays, users' __eq__
            _built_in(kind, "clear")(holder)
            _built_in(kind, "extend")(holder, [item for item in new_items
                                               if item is not _REMOVE])
        else:
            for index, (item, new) in enumerate(zip(items, new_items)):
                if new is not item:
                    setitem(holder, index, new)
        return holder
    if isinstance(holder, dict):
        pairs = list(holder.items())
        new_pairs = [(_swap(k, targets), _undone(holder, k, _swap(v, targets), targets, stores))
                     for k, v in pairs]
        owner = _class_of(holder)
        if owner is not None:  # a class's namespace: through type.__setattr__ (see below)
            for (key, value), (_, new) in zip(pairs, new_pairs):
                if new is ABSENT:
                    type.__delattr__(owner, key)
                elif new is not _REMOVE and new is not value:
                    type.__setattr__(owner, key, new)
            return holder
        setitem = _built_in(kind, "__setitem__")
        if any(new_key is not key or new is _REMOVE or new is ABSENT
               for (key, _), (new_key, new) in zip(pairs, new_pairs)):
            _built_in(kind, "clear")(holder)
            for k, v in new_pairs:  # item by item: Counter.update would add counts
                if k is not _REMOVE and v is not _REMOVE and v is not ABSENT:
                    setitem(holder, k, v)
        else:
            for (key, value), (_, new) in zip(pairs, new_pairs):
                if new is not value:
                    setitem(holder, key, new)
        return holder
    if isinstance(holder, set):
        items = list(holder)
        swapped = [_swap(item, targets) for item in items]
        if any(new is _REMOVE for new in swapped):
            _built_in(kind, "clear")(holder)
            set.update(holder, (new for new in swapped if new is not _REMOVE))
            return holder
        # Each in its own slot (tree.replace): a set refilled from a list may iterate in
        # another order than the one plain Python built, once two of its items collided.
        discard, add = _built_in(kind, "discard"), _built_in(kind, "add")
        for item, new in zip(items, swapped):
            if new is not item:
                discard(holder, item)
                add(holder, new)
        return holder
    if kind is types.CellType:
        try:
            current = holder.cell_contents
        except ValueError:  # emptied since (del name)
            return None
        new = _undone(holder, CELL, _swap(current, targets), targets, stores)
        if new is current or new is _REMOVE:
            return None
        if new is ABSENT:
            del holder.cell_contents  # the binding the store made, which plain never did
        else:
            holder.cell_contents = new
        return holder
    if isinstance(holder, tuple | frozenset):
        swapped = [_swap(item, targets) for item in holder]
        if any(new is _REMOVE for new in swapped):
            return _REMOVE  # built from a value that never came: its holders drop it too
        items = swapped
        if all(new is old for new, old in zip(items, holder)):
            return None
        node_kind = tree.kind_of(holder)
        if node_kind is tree.Kind.NAMEDTUPLE:
            return kind._make(items)
        if kind is frozenset and isinstance(holder, frozenset):
            return tree.frozen_in_slots(holder, items)
        try:
            return kind(items)
        except TypeError:
            return None
    if isinstance(holder, types.FunctionType):
        for name in ("__defaults__", "__kwdefaults__"):
            current = getattr(holder, name)
            if current is None:
                continue
            new = _settled(current, targets)  # the defaults tuple itself was rebuilt
            if new is current:
                new = _patch(current, targets, stores)  # or holds a target (None: it does not)
            if new is not None and new is not current:
                setattr(holder, name, new)
        return holder
    try:
        attributes = object.__getattribute__(holder, "__dict__")
    except (AttributeError, TypeError):
        attributes = None
    patched = False
    # A dataclass's fields are set by its generated __init__, which XCS does not see:
    # one holding a value that never came was made from it (``Rec(reply)``), so, like a
    # tuple, its holders drop it (plain Python never made it).
    built = dataclasses.is_dataclass(kind)
    if isinstance(attributes, dict):
        for name, item in list(attributes.items()):
            new = _undone(attributes, name, _swap(item, targets), targets, stores)
            if new is _REMOVE and built:
                return _REMOVE
            if new is ABSENT:
                del attributes[name]  # the attribute the store made, which plain never did
                patched = True
            elif new is not _REMOVE and new is not item:
                attributes[name] = new
                patched = True
    for name in tree.slot_names(kind):
        try:
            item = object.__getattribute__(holder, name)
        except (AttributeError, TypeError):
            continue
        new = _undone(holder, name, _swap(item, targets), targets, stores)
        if new is _REMOVE and built:
            return _REMOVE
        if new is ABSENT:
            object.__delattr__(holder, name)
            patched = True
        elif new is not _REMOVE and new is not item:
            object.__setattr__(holder, name, new)
            patched = True
    return holder if patched else None
