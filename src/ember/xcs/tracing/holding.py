"""Objects an op holds while it runs, so that the glue changes them only after it.

An op gets copies of the lists, dicts and sets in its arguments, but records (objects of
the user's classes, dataclasses, pydantic models, ``UserDict``...: ``tree.Kind.RECORD``),
NumPy arrays, ``bytearray`` and ``array.array`` (held with the arrays they are views of)
are shared with it, as in plain Python, where the op has finished before the glue's next
line runs: a change the glue makes to one afterwards (``state.step += 1``,
``state.notes.append(x)``, ``state.advance()``) is never seen by the op. Under ``@jit``
the op may still be running; so the glue waits for it before that change, and only then.

``Holders.note`` records, per op call (its lazy result), the shared objects of its
arguments and the containers and objects reachable from their attributes (to a
small depth). Before a change of one of them, ``Holders.unfinished`` names the op
calls still holding it; the rewritten glue (``runtime.changing``, and ``prep``
before a method call on it) waits for them, as a barrier. An op method's own
instance (``self`` of an ``@op`` method) is not an argument and is not recorded.

An op also reads the module globals its body names (``MODEL``, ``CONFIG["model"]``)
and the attributes of modules it names (``os.environ``, ``settings.MODE``).
``Holders.note_globals`` records, per op call, the data its function's code (through
wrappers: a leaf Operator's ``forward``) loads that way (``tracing.reads``): a dict or
object among them is held like an argument (a library's mutable mapping such as
``os.environ`` too, without looking inside), and
rebinding one of the names in the glue (``global MODEL; MODEL = "b"``, rewritten to
``rebinding``; ``settings.MODE = "b"``) first waits for the op calls reading it.
Globals read only by functions the op body calls are not seen.
"""

from __future__ import annotations

import collections.abc
import functools
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.op_runs import UNRESOLVED
from ember.xcs.tracing.changes import Changes, changed_by, is_buffer, outputs_after_inputs
from ember.xcs.tracing.frames import is_user_code
from ember.xcs.tracing.generators import generator_classes, generators_in
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.reads import MISSING, code_like, code_owner, global_reads, read_through
from ember.xcs.tracing.usercode import is_pandas_type

__all__ = ["UNKNOWN", "Holders", "changed_by", "end_first", "follow", "outputs_after_inputs",
           "settle", "settle_cell", "settle_global", "shares_objects"]

_get = object.__getattribute__
_DEPTH = 3  # how deep attributes are followed from an argument
_CONTAINERS = (tree.Kind.LIST, tree.Kind.DICT, tree.Kind.SET, tree.Kind.DEQUE)
_WALKED = (tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE, tree.Kind.FROZENSET, *_CONTAINERS)
# A library's mutable mapping, sequence or set (os.environ): held, not walked.
_MUTABLE_COLLECTIONS = (collections.abc.MutableMapping, collections.abc.MutableSequence,
                        collections.abc.MutableSet)
_FUNCTIONS = frozenset({types.FunctionType, types.MethodType, functools.partial,
                        types.BuiltinMethodType, types.MethodWrapperType})


class Holders:
    """Per call: which op calls (their lazy results) hold which shared objects.

    ``held`` maps each object given to ops (directly, or inside the lists and dicts
    they were passed) to those op calls; ``reach`` maps what such an object's
    attributes reach to the objects it was reached from. An object is walked again
    only when no op holds it any more (the glue may have changed it since), so a
    large object handed to many ops at once is walked once.
    """

    __slots__ = ("cells", "generators", "globals", "held", "reach")

    def __init__(self) -> None:
        self.held: dict[int, tuple[Any, list[Lazy]]] = {}  # id -> (object, op calls)
        self.reach: dict[int, tuple[Any, list[Any]]] = {}  # id -> (object, held objects)
        # (id of a module's globals, name) -> (those globals, op calls reading the name)
        self.globals: dict[tuple[int, str], tuple[dict[str, Any], list[Lazy]]] = {}
        # name -> op calls whose function reads it from an enclosing function (a cell)
        self.cells: dict[str, list[Lazy]] = {}
        self.generators: dict[int, Any] = {}  # the random generators held or reached

    def note_globals(self, lazy: Lazy, op: Any) -> None:
        """Record the data globals the body of ``op`` reads, and the variables of
        enclosing functions it reads (an ``@op`` defined inside the glue)."""
        fn = op.fn
        reads = op.globals_read
        if reads is UNRESOLVED:
            reads = op.globals_read = global_reads(fn)
        known = op.global_reader  # (fn, the code that runs, or None: it reads nothing)
        if known is UNRESOLVED or known[0] is not fn:
            # The code that runs: through wrappers (a leaf Operator's op: its forward).
            owner = fn if type(fn) is types.FunctionType else code_owner(fn)
            reading = reads is not None or getattr(owner, "__closure__", None)
            known = op.global_reader = (fn, owner if reading else None)
        if known[1] is not None:  # most ops read no data global and no enclosing variable
            self._note_reader(lazy, known[1], reads)

    def _note_function(self, lazy: Lazy, fn: Any, todo: list[tuple[Any, int]],
                       depth: int) -> None:
        """A function handed to an op (a lambda, a nested function, a bound method, also
        a built-in one: ``scores.get``, a ``functools.partial``): the op calls it, so what
        it reads (the glue's variables, globals, its object) is held as if passed."""
        if type(fn) is functools.partial:  # its arguments are shared, not copied
            todo.append((fn.func, depth))
            for value in (*fn.args, *fn.keywords.values()):
                if type(value) in _FUNCTIONS:
                    todo.append((value, depth))
                else:
                    self._hold_shared(value, lazy)
        elif type(fn) is not types.FunctionType:  # a bound method
            self._hold_shared(fn.__self__, lazy)
            todo.append((getattr(fn, "__func__", None), depth))  # a built-in one has none
        elif type(fn) is types.FunctionType and is_user_code(fn.__code__.co_filename):
            self._note_reader(lazy, fn, global_reads(fn))

    def _note_reader(self, lazy: Lazy, fn: Any, reads: Any) -> None:
        closure = getattr(fn, "__closure__", None)
        if closure:
            for name, cell in zip(fn.__code__.co_freevars, closure, strict=False):
                self.cells.setdefault(name, []).append(lazy)
                try:
                    value = cell.cell_contents
                except ValueError:  # not bound yet
                    continue
                self._hold_shared(value, lazy)
        if reads is None:
            return  # the common case: it reads none
        namespace, names = reads
        for read in names:
            if type(read) is tuple:  # os.environ, settings.MODE: an attribute of a module
                module = namespace.get(read[0])
                if type(module) is not types.ModuleType:
                    continue
                where, name = module.__dict__, read[1]
            else:
                where, name = namespace, read
            value = where.get(name, MISSING)
            through = read_through(value)  # os.getenv: os.environ is what it reads
            if through is not None:
                where, name = through
                value = where[name]
            elif code_like(value):
                continue
            key = (id(where), name)
            entry = self.globals.get(key)
            if entry is None:
                self.globals[key] = (where, [lazy])
            else:
                entry[1].append(lazy)
            self._hold_shared(value, lazy)  # MODEL = "gpt-a": only rebinding changes it

    def _hold_shared(self, value: Any, lazy: Lazy) -> None:
        """Hold a dict, list or object an op reads from a global or an enclosing
        function's variable, as if it were passed to it."""
        if type(value) in tree.ATOMS or type(value) is Lazy:
            return
        kind = tree.kind_of(value)
        if (kind is tree.Kind.RECORD or kind in _CONTAINERS) and self._hold(value, lazy):
            self._walk(value, kind)
        elif kind is tree.Kind.OPAQUE:  # os.environ; a generator (rng.normal handed over)
            for part in self._parts(value, _MUTABLE_COLLECTIONS):
                self._hold(part, lazy)

    def readers(self, namespace: dict[str, Any], name: str) -> list[Lazy]:
        """The op calls not final yet that read global ``name`` of ``namespace``."""
        entry = self.globals.get((id(namespace), name))
        if entry is None or entry[0] is not namespace:
            return []
        return [lazy for lazy in entry[1] if not _get(lazy, "_xcs_task").final]

    def cell_readers(self, name: str) -> list[Lazy]:
        """The op calls not final yet that read variable ``name`` of an enclosing function."""
        return [lazy for lazy in self.cells.get(name, ()) if not _get(lazy, "_xcs_task").final]

    def note(self, lazy: Lazy, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Record the shared objects an op call receives (``args``: as the glue passed them)."""
        atoms = tree.ATOMS
        for value in (*args, *kwargs.values()) if kwargs else args:
            if type(value) not in atoms and type(value) is not Lazy:
                break
        else:
            return  # literals and op results only (most calls): nothing shared
        todo = [(value, 0) for value in (*args, *kwargs.values())]
        seen: set[int] = set()
        while todo:  # the arguments (copied containers): the objects handed over
            value, depth = todo.pop()
            if type(value) in atoms or type(value) is Lazy or id(value) in seen:
                continue
            seen.add(id(value))
            kind = tree.kind_of(value)
            if kind is tree.Kind.RECORD:
                if self._hold(value, lazy):
                    self._walk(value)
            elif kind is tree.Kind.OPAQUE and type(value) in _FUNCTIONS:
                self._note_function(lazy, value, todo, depth)
            elif kind is tree.Kind.OPAQUE:  # (os.environ, a shelf)
                for part in self._parts(value, _MUTABLE_COLLECTIONS):
                    self._hold(part, lazy)
            elif kind in _WALKED and depth < _DEPTH:
                todo += [(item, depth + 1) for item in tree.children(value, kind)
                         if type(item) not in atoms]

    def _hold(self, value: Any, lazy: Lazy) -> bool:
        """Add ``lazy`` to ``value``'s holders; whether ``value`` must be walked."""
        entry = self.held.get(id(value))
        if entry is None or entry[0] is not value:
            self.held[id(value)] = (value, [lazy])
            return True
        lazies = entry[1]
        # The latest holder still running: the glue has not changed it since (a change
        # would have waited), so what it reaches is as walked. Otherwise walk again.
        walk: bool = _get(lazies[-1], "_xcs_task").final
        lazies.append(lazy)
        return walk

    def _walk(self, root: Any, kind: tree.Kind = tree.Kind.RECORD) -> None:
        """Note what ``root``'s attributes (or items) reach: containers and objects."""
        atoms = tree.ATOMS
        todo = [(item, 1) for item in tree.children(root, kind) if type(item) not in atoms]
        seen = {id(root)}
        while todo:
            value, depth = todo.pop()
            if type(value) is Lazy or id(value) in seen:
                continue
            seen.add(id(value))
            kind = tree.kind_of(value)
            if kind is not tree.Kind.RECORD and kind not in _WALKED:
                for part in self._parts(value, ()) if kind is tree.Kind.OPAQUE else ():
                    self._reached(part, root)  # state.weights[0] = ..., state.rng.random()
                continue
            if kind is tree.Kind.RECORD or kind in _CONTAINERS:
                self._reached(value, root)
            if depth < _DEPTH:
                items = list(value) if kind is tree.Kind.LIST else tree.children(value, kind)
                todo += [(item, depth + 1) for item in items if type(item) not in atoms]

    def _reached(self, value: Any, root: Any) -> None:
        """Note that held object ``root`` reaches ``value``."""
        entry = self.reach.get(id(value))
        if entry is None or entry[0] is not value:
            self.reach[id(value)] = (value, [root])
        elif all(other is not root for other in entry[1]):  # never ask ==
            entry[1].append(root)

    def _parts(self, value: Any, held: tuple[type, ...]) -> list[Any]:
        """What of an opaque object the glue may change in place: an array's memory, a
        frame, itself if a random generator (each draw changes it) or of ``held``."""
        if is_buffer(value):
            return _buffers(value)
        if type(value).__module__.startswith("pandas"):
            return _frames(value)
        if isinstance(value, generator_classes()):
            self.generators[id(value)] = value  # (see thread_bound.eager_reason_of)
            return [value]
        return [value] if isinstance(value, held) else []

    def unfinished(self, value: Any) -> list[Lazy]:
        """The op calls not final yet that hold ``value``, or an object reaching it."""
        if type(value) is Changes:  # rng.shuffle(arr): arr and rng
            return list({id(lazy): lazy for one in value for lazy in self.unfinished(one)}.values())
        owners = _buffers(value) if is_buffer(value) else [value]
        for part in list(owners):
            reached = self.reach.get(id(part))
            if reached is not None and reached[0] is part:
                owners += reached[1]
        found: list[Lazy] = []
        for owner in owners:
            entry = self.held.get(id(owner))
            if entry is not None and entry[0] is owner:
                found += [lazy for lazy in entry[1] if not _get(lazy, "_xcs_task").final]
        return list({id(lazy): lazy for lazy in found}.values())  # ids: never ask a lazy


def _frames(value: Any) -> list[Any]:
    """The pandas objects ``value`` (of pandas) shares: itself if a frame, Series or
    Index, and the frame a groupby, rolling window or styler reads."""
    found = [value] if is_pandas_type(type(value)) else []
    own = getattr(value, "__dict__", None)
    if isinstance(own, dict):
        found += [part for name in ("obj", "data")
                  if is_pandas_type(type(part := own.get(name)))]
    return found


def _buffers(value: Any) -> list[Any]:
    """``value`` and the arrays it is a view of (``a[1:]``'s ``base`` is ``a``)."""
    found = [value]
    base = getattr(value, "base", None)
    while base is not None and is_buffer(base) and len(found) < 8:
        found.append(base)
        base = getattr(base, "base", None)
    return found


def settle(trace: Any, value: Any) -> None:
    """Before the glue changes ``value``: the op calls holding it end first (one barrier)."""
    changed = value[0] if type(value) is Changes else value
    end_first(trace, trace.ordering.holders.unfinished(value),
              f"{type(changed).__name__} changed", "holds it")


def end_first(trace: Any, lazies: list[Lazy], change: str, use: str) -> None:
    """Wait for the op calls ``lazies`` before the glue's ``change``: one barrier, named
    after the first ("State changed while op plan holds it")."""
    if lazies:
        first = lazies[0]
        trace.force(first, f"{change} while op {_get(first, '_xcs_task').name} {use}")
        for lazy in lazies[1:]:
            trace.materialize(lazy)  # a wait (raises if the op failed), not another barrier


def shares_objects(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a call's arguments hold objects of the user's (shared, not copied), as
    arguments or inside the lists, tuples and dicts passed (``Holders.note``'s depth)."""
    atoms = tree.ATOMS
    todo = [(value, 0) for value in (*args, *kwargs.values())
            if type(value) not in atoms and type(value) is not Lazy]
    while todo:
        value, depth = todo.pop()
        kind = tree.kind_of(value)
        if kind is tree.Kind.RECORD or (kind is tree.Kind.OPAQUE and (
                is_buffer(value) or generators_in(value, generator_classes()))):
            return True  # (a generator, rng.normal: an async op given one draws once awaited)
        if kind in _WALKED and depth < _DEPTH:
            todo += [(item, depth + 1) for item in tree.children(value, kind)
                     if type(item) not in atoms and type(item) is not Lazy]
    return False


def settle_cell(trace: Any, name: str) -> None:
    """Before the glue rebinds ``name``, read by ops defined inside it: they end first."""
    end_first(trace, trace.ordering.holders.cell_readers(name), f"{name} rebound", "reads it")


def settle_global(trace: Any, namespace: dict[str, Any], name: str) -> None:
    """Before the glue rebinds global ``name``: the op calls reading it end first."""
    end_first(trace, trace.ordering.holders.readers(namespace, name),
               f"global {name} rebound", "reads it")


UNKNOWN: Any = object()  # what follow() gives when it cannot tell


def follow(value: Any, path: tuple[Any, ...]) -> Any:
    """``value`` along ``path``; ``UNKNOWN`` past an op result (its changes are ordered
    with its uses already) or where the statement itself will raise."""
    steps = iter(path)
    try:
        for step in steps:
            if type(value) is Lazy:
                return UNKNOWN
            value = value[next(steps)] if step == "[]" else getattr(value, step)
    except Exception:  # the statement raises it itself, where plain Python does
        return UNKNOWN
    return UNKNOWN if type(value) is Lazy else value
