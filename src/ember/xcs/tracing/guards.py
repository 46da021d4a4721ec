"""Checks the rewritten glue makes before it changes an object or rebinds a name.

An op may still be running with the object the glue is about to change (it holds it:
``tracing.holding``), or reading the global the glue is about to rebind. In plain
Python the op had finished, so the change or the new binding waits for it first:
``changing``/``rebinding`` before a statement without a value (``del state.x``), and
``stored``/``bound`` around the value of an assignment, so that the check runs once the
value exists, right before the store (``MODE = ask(x)``, ``ask`` reading ``MODE``: the
op the statement itself issued ends first). The ``a``-prefixed forms are for ``async
def`` glue: they return awaitables, so the event loop keeps running while ops end.
"""

from __future__ import annotations

import collections
import gc
import sys
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.awaiting import AfterWaiting, Ready, Waiting, pending
from ember.xcs.tracing.context import _local
from ember.xcs.tracing.earlier import asettle_earlier, settle_earlier
from ember.xcs.tracing.frames import is_internal
from ember.xcs.tracing.holding import UNKNOWN, follow, settle, settle_cell, settle_global
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.settings import stored_setting
from ember.xcs.tracing.stores import NO_SLOT
from ember.xcs.tracing.trace import Trace
from ember.xcs.tracing.usercode import hashes_in_user_code

__all__ = ["ACellLoop", "CellLoop", "abound", "abound_cell", "achanging", "arebinding",
           "arebinding_cell", "astored", "bound", "bound_cell", "changing", "library_object",
           "rebinding", "rebinding_cell", "stored"]


def changing(root: Any, *path: Any, attr: Any = NO_SLOT, key: Any = NO_SLOT) -> Any:
    """Before a statement of the glue changes an object in place (``state.x = ...``,
    ``state.notes[i] += ...``, ``del state.x``): ops still holding it end first.

    The object is ``root`` followed along ``path`` (attribute names, and ``"[]"``
    before an index), walked only when some op holds an object or was issued at all.
    A store to ``attr`` or ``key`` of it is noted with what it replaces
    (``tracing.stores``): undone if the value stored never comes. Returns the object
    (``UNKNOWN`` when it was not walked: no op was issued).
    """
    trace = _local.trace
    if type(trace) is not Trace or trace.run is None:
        return UNKNOWN
    changed = follow(root, path)
    if changed is UNKNOWN:
        return UNKNOWN
    if attr is not NO_SLOT or key is not NO_SLOT:
        trace.ordering.stores.note(changed, attr, key)
    if trace.ordering.holders.held:
        settle(trace, changed)
        if path and root is not changed:  # df.loc[i, c] = v: an op given df reads it too
            settle(trace, root)
    if (setting := _setting(root, path, changed, attr)) is not None:  # sys.stdout = buf
        settle_earlier(trace, None, f"{setting} (a setting ops issued before it read)")
    if trace.ordering.holders.globals \
            and (rebound := _rebound_global(changed, attr, key)) is not None:
        settle_global(trace, *rebound)  # settings.MODE = "b": ops reading it end first
    return changed


def _rebound_global(changed: Any, attr: Any, key: Any) -> tuple[dict[str, Any], str] | None:
    """The namespace and name of the global a store into ``changed`` rebinds, if any:
    ``settings.MODE = "b"`` (``attr`` of a module) or ``globals()["MODE"] = "b"`` (a
    ``str`` ``key`` of a ``dict``, which may be a module's namespace)."""
    if attr is not NO_SLOT and type(changed) is types.ModuleType:
        return changed.__dict__, attr
    if type(key) is str and type(changed) is dict:
        return changed, key
    return None


def _setting(root: Any, path: tuple[Any, ...], changed: Any, attr: Any) -> str | None:
    """The process-wide setting a store changes (``tracing.settings``): of ``attr`` of
    the object it stores into (``self.log.level = DEBUG``), or of the attribute the
    path goes through last (``ctx.traps[s] = v``, ``app.ctx.traps[s] = v``)."""
    if attr is not NO_SLOT and (setting := stored_setting(changed, attr)) is not None:
        return setting
    if path and type(path[-1]) is str and path[-2:-1] != ("[]",):  # an attribute last
        owner = follow(root, path[:-1])
        return None if owner is UNKNOWN else stored_setting(owner, path[-1])
    return None


def achanging(root: Any, *path: Any, attr: Any = NO_SLOT, key: Any = NO_SLOT) -> Any:
    """``changing`` for ``async def`` glue: an awaitable, so the loop keeps running."""
    trace = _local.trace
    if type(trace) is not Trace or trace.run is None:
        return Ready(None)
    changed = follow(root, path)
    if changed is UNKNOWN:
        return Ready(None)
    if attr is not NO_SLOT or key is not NO_SLOT:
        trace.ordering.stores.note(changed, attr, key)
    if trace.ordering.holders.held:
        holders = trace.ordering.holders
        lazies = holders.unfinished(changed)
        if path and root is not changed and type(root) is not Lazy:
            lazies += holders.unfinished(root)
        waits = pending(lazies)
        if waits:
            return AfterWaiting(Waiting(waits, None), settle, (trace, changed), {})
    if (setting := _setting(root, path, changed, attr)) is not None:
        return _Then(asettle_earlier(trace, None, f"{setting} (a setting ops issued "
                                     "before it read)"), None)
    if trace.ordering.holders.globals \
            and (rebound := _rebound_global(changed, attr, key)) is not None \
            and (waiting := _global_readers(trace, *rebound)) is not None:
        return waiting
    return Ready(None)


def rebinding(name: str) -> None:
    """Before a statement of the glue binds global ``name`` (``global MODEL``): ops
    still reading it end first (``tracing.holding``)."""
    trace = _local.trace
    if type(trace) is Trace and trace.ordering.holders.globals:
        settle_global(trace, sys._getframe(1).f_globals, name)


def arebinding(name: str) -> Any:
    """``rebinding`` for ``async def`` glue: an awaitable, so the loop keeps running."""
    trace = _local.trace
    if type(trace) is Trace and trace.ordering.holders.globals:
        waiting = _global_readers(trace, sys._getframe(1).f_globals, name)
        if waiting is not None:
            return waiting
    return Ready(None)


def _global_readers(trace: Trace, namespace: dict[str, Any], name: str) -> Any:
    """An awaitable that ends once the ops reading global ``name`` have, or ``None``."""
    waits = pending(trace.ordering.holders.readers(namespace, name))
    if not waits:
        return None
    return AfterWaiting(Waiting(waits, None), settle_global, (trace, namespace, name), {})


def stored(value: Any, root: Any, *path: Any, attr: Any = NO_SLOT, key: Any = NO_SLOT) -> Any:
    """``value``, to be stored into ``root`` along ``path`` once ``changing`` allows it:
    checked after the value's own expression ran (``state.plan = plan(state)``).

    Op results stored by index (any index: ``df.loc[i, "c"] = r``) into an object whose
    ``__setitem__`` is Python code, a library's (``message["Subject"] = reply``,
    ``df["label"] = [classify(t) for t in df.text]``) or the user's, or stored as an
    attribute through a class's ``__setattr__``, a property's setter or a descriptor,
    are given as values, inside lists and dicts too: that code reads what it is given
    (``type(v) is str``, ``hasattr``, its dtype), which a lazy proxy would answer
    wrongly, and may keep it where escape repair never looks. ``d |= {k: r}`` notes
    what the keys it sets held (``tracing.stores``).

    So are op results stored by index into a C container the garbage collector does not
    follow (a NumPy object array: ``table[i] = label(doc)``, ``table[:] = replies``):
    escape repair finds lazy values through their referrers, and could never replace
    one held there.
    """
    target = changing(root, *path, attr=attr, key=key)
    trace = _local.trace
    if type(target) is dict and type(value) is dict and attr is NO_SLOT and key is NO_SLOT \
            and type(trace) is Trace:
        trace.ordering.stores.note_update(target, (value,), {})  # d |= {k: r}
    if type(value) not in tree.ATOMS and type(trace) is Trace and trace.lazies \
            and _keeps_values(target, attr, key):
        return trace.force_tree(value, _store_reason(target, attr))
    return value


def _store_reason(target: Any, attr: Any) -> str:
    slot = "[...]" if attr is NO_SLOT else f".{attr}"
    return f"store into {type(target).__name__}{slot}"


def library_object(target: Any) -> bool:
    """Whether ``target`` is an object of a library's class (not a module): an attribute
    stored on it goes through the library's code (``df.index = labels`` is a property
    of pandas), which keeps it where escape repair never looks."""
    return tree.kind_of(target) is tree.Kind.OPAQUE and not isinstance(target, types.ModuleType)


def _keeps_values(target: Any, attr: Any, key: Any = NO_SLOT) -> bool:
    """Whether a store into ``target`` (of attribute ``attr``, else of item ``key``) must
    be given values: an attribute of a library's object; a store that runs Python code of
    the object's class (a ``__setattr__``, a property's setter, a descriptor's
    ``__set__``, a ``__setitem__``, the user's or a library's), which reads what it is
    given (``type(v) is str``) as plain Python's did; an item of a C container ``gc``
    does not follow (NumPy arrays), where the lazy values stored would outlive the call;
    a dict item whose key hashes in the user's code (``seen[topic] = r``), which repair
    would look up again, running that ``__hash__`` once more than plain Python."""
    if target is UNKNOWN:
        return False
    kind = type(target)
    if attr is not NO_SLOT:
        return library_object(target) or _runs_code_on_store(kind, attr)
    setitem = getattr(kind, "__setitem__", None)
    if type(setitem) is types.FunctionType:
        return True
    if isinstance(target, dict) and key is not NO_SLOT:
        return hashes_in_user_code(key)
    if setitem is None or isinstance(target, list | dict | set | collections.deque):
        return False  # built-in containers (subclasses too): repair replaces values there
    return not gc.is_tracked(target)


_NOT_FOUND: Any = object()


def _runs_code_on_store(kind: type, attr: Any) -> bool:
    """Whether storing attribute ``attr`` on an instance of ``kind`` runs Python code: a
    ``__setattr__`` of a class, or a data descriptor (a property with a setter, an
    object whose class defines ``__set__`` in Python) found on the class."""
    setter = kind.__setattr__
    if type(setter) is types.FunctionType and not is_internal(setter.__code__):
        return True  # (an Operator's, Ember's own, only checks that it is not frozen)
    for klass in kind.__mro__:
        found = klass.__dict__.get(attr, _NOT_FOUND) if type(attr) is str else _NOT_FOUND
        if found is _NOT_FOUND:
            continue
        if isinstance(found, property):
            return type(found.fset) is types.FunctionType
        return type(getattr(type(found), "__set__", None)) is types.FunctionType
    return False


def astored(value: Any, root: Any, *path: Any, attr: Any = NO_SLOT,
            key: Any = NO_SLOT) -> Any:
    """``stored`` for ``async def`` glue: an awaitable of ``value`` (given as values where
    ``stored`` gives them, once their ops have ended: the loop keeps running)."""
    first = achanging(root, *path, attr=attr, key=key)
    trace = _local.trace
    if type(value) is dict and attr is NO_SLOT and key is NO_SLOT and type(trace) is Trace \
            and trace.run is not None and type(target := follow(root, path)) is dict:
        trace.ordering.stores.note_update(target, (value,), {})  # d |= {k: r}
    if type(value) not in tree.ATOMS and type(trace) is Trace and trace.lazies:
        target = follow(root, path)
        if _keeps_values(target, attr, key):
            waits = Waiting(pending(tree.leaves(value, Lazy, records=True)), None)
            reason = _store_reason(target, attr)
            return _Then(first, AfterWaiting(waits, trace.force_tree, (value, reason), {}),
                         awaited=True)
    return _Then(first, value)


def bound(value: Any, name: str) -> Any:
    """``value``, to be bound to global ``name`` once ``rebinding`` allows it: checked
    after the value's own expression ran (``MODE = ask(x)``, ``ask`` reading ``MODE``).
    What the global held is noted: if the value never comes, it comes back."""
    trace = _local.trace
    if type(trace) is Trace and trace.run is not None:
        namespace = sys._getframe(1).f_globals
        trace.ordering.stores.note(namespace, NO_SLOT, name)
        if trace.ordering.holders.globals:
            settle_global(trace, namespace, name)
    return value


def abound(value: Any, name: str) -> Any:
    """``bound`` for ``async def`` glue: an awaitable of ``value``."""
    trace = _local.trace
    if type(trace) is Trace and trace.run is not None:
        namespace = sys._getframe(1).f_globals
        trace.ordering.stores.note(namespace, NO_SLOT, name)
        waiting = _global_readers(trace, namespace, name)
        if waiting is not None:
            return _Then(waiting, value)
    return Ready(value)


class _Then:
    """Awaits ``first``, then gives ``value`` (what awaiting it gives, if ``awaited``)."""

    __slots__ = ("awaited", "first", "value")

    def __init__(self, first: Any, value: Any, awaited: bool = False) -> None:
        self.first = first
        self.value = value
        self.awaited = awaited

    def __await__(self) -> Any:
        yield from self.first.__await__()
        if self.awaited:
            return (yield from self.value.__await__())
        return self.value


def bound_cell(value: Any, name: str, probe: Any) -> Any:
    """``value``, to be bound to ``name``, a variable a nested op reads (a closure cell:
    ``cur = ask(x)`` where ``ask`` is an ``@op`` defined inside and reads ``cur``), or a
    ``nonlocal``, once the ops reading it have ended. What the cell held is noted
    (``probe`` is ``lambda: name``, made there): if the value never comes, it comes back."""
    trace = _local.trace
    if type(trace) is Trace and trace.run is not None:
        trace.ordering.stores.note_cell(probe)
    if type(trace) is Trace and trace.ordering.holders.cells:
        settle_cell(trace, name)
    return value


def abound_cell(value: Any, name: str, probe: Any) -> Any:
    """``bound_cell`` for ``async def`` glue: an awaitable of ``value``."""
    trace = _local.trace
    if type(trace) is Trace and trace.run is not None:
        trace.ordering.stores.note_cell(probe)
    if type(trace) is Trace and trace.ordering.holders.cells:
        waits = pending(trace.ordering.holders.cell_readers(name))
        if waits:
            return _Then(AfterWaiting(Waiting(waits, None), settle_cell, (trace, name), {}),
                         value)
    return Ready(value)


def rebinding_cell(name: str, probe: Any) -> None:
    """Before a statement of the glue binds ``name``, a variable a nested op reads, other
    than by assigning it (``with ... as name``, ``except ... as name``, a ``match``
    capture, an ``import``, ``del name``): the ops reading it end first, as for
    ``bound_cell``, and what the cell held is noted."""
    bound_cell(None, name, probe)


def arebinding_cell(name: str, probe: Any) -> Any:
    """``rebinding_cell`` for ``async def`` glue: an awaitable, so the loop keeps running."""
    return abound_cell(None, name, probe)


class CellLoop:
    """The items of a ``for`` loop whose variables functions defined in the glue read
    (``for q in qs:`` around a nested ``@op`` or a lambda handed to an op that reads
    ``q``), or that are globals an op may read (``global MODE``, ``for MODE in modes:``),
    or attributes and items of objects ops may hold (``for state.cur in items:``):
    before the loop binds the next item, the ops reading them end first, as
    ``bound_cell``, ``bound`` and ``stored`` do for an assignment."""

    __slots__ = ("_before", "_globals", "_items", "_names", "_namespace")

    def __init__(self, iterable: Any, names: tuple[str, ...],
                 global_names: tuple[str, ...] = (), before: Any = None) -> None:
        self._items = iter(iterable)
        self._names = names
        self._globals = global_names
        self._namespace = sys._getframe(1).f_globals if global_names else None
        self._before = before  # the `changing` checks of a target storing into an object

    def __iter__(self) -> CellLoop:
        return self

    def __next__(self) -> Any:
        item = next(self._items)
        if self._before is not None:
            self._before()
        trace = _local.trace
        if type(trace) is Trace:
            if trace.ordering.holders.cells:
                for name in self._names:
                    settle_cell(trace, name)
            if self._namespace is not None and trace.ordering.holders.globals:
                for name in self._globals:
                    settle_global(trace, self._namespace, name)
        return item


class ACellLoop:
    """``CellLoop`` for ``async for`` (a statement or a comprehension): the ops reading
    the loop's variables end before it binds the next item, awaited, so the event loop
    keeps running meanwhile."""

    __slots__ = ("_globals", "_items", "_names", "_namespace")

    def __init__(self, iterable: Any, names: tuple[str, ...],
                 global_names: tuple[str, ...] = ()) -> None:
        self._items = aiter(iterable)
        self._names = names
        self._globals = global_names
        self._namespace = sys._getframe(1).f_globals if global_names else None

    def __aiter__(self) -> ACellLoop:
        return self

    async def __anext__(self) -> Any:
        item = await anext(self._items)
        trace = _local.trace
        if type(trace) is Trace:
            for name in self._names if trace.ordering.holders.cells else ():
                waits = pending(trace.ordering.holders.cell_readers(name))
                if waits:
                    await AfterWaiting(Waiting(waits, None), settle_cell, (trace, name), {})
            namespace = self._namespace
            if namespace is not None and trace.ordering.holders.globals:
                for name in self._globals:
                    waiting = _global_readers(trace, namespace, name)
                    if waiting is not None:
                        await waiting
        return item
