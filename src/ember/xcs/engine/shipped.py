"""An op call pickled for a worker in another process, and its result coming back.

A process pool's or a Dask cluster's worker runs the op on copies of its arguments,
unpickled there. Two things plain Python gives would be lost on those copies, silently:

- a change the body makes to an object it receives (``budget.spent += cost``, or
  ``self.turns.append(msg)`` in a method op) would stay on the worker's copy: the
  caller's object never sees it, and the next call starts from the old state again;
- an object it receives and hands back (``return max(candidates, key=...)``) would
  come back as yet another copy: ``best is candidates[1]`` is false, and a change
  made through ``best`` never reaches the caller's object.

``send`` pickles the objects the op receives (``parts_of``: its arguments, and the
instance of a method op) ahead of the call, in the same stream. Pickle numbers each
object it writes (its memo), and the unpickler numbers them the same way, so a number
names the same object on both sides. On the worker, ``Arrived.run`` pickles those
objects again before and after the body: one whose pickle changed makes the call fail
with ``ArgumentChangedError`` naming the op, the argument and the fix, as a changed
list does on the thread engine (state an object leaves out of its pickle, a cache it
fills for itself, is not compared). ``Arrived.pickle_result`` writes an object the op
received as its number (a persistent id), and ``Sent.load_result`` puts the caller's
own object in its place, at any depth.

Imported when a call is first shipped, not with ``ember.xcs``.
"""

from __future__ import annotations

import io
import pickle
import types
from collections import defaultdict
from collections.abc import Callable
from typing import Any, BinaryIO

from ember.xcs import tree
from ember.xcs.errors import ArgumentChangedError

__all__ = ["Arrived", "Referring", "ResultPickler", "Sent", "parts_of", "send"]

PROTOCOL = pickle.HIGHEST_PROTOCOL
Parts = list[tuple[str, Any]]
Dumps = Callable[[Any], Any]  # bytes, or a memoryview (multiprocessing's)
PicklerClass = Callable[[BinaryIO, int], pickle.Pickler]


def parts_of(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Parts:
    """The objects an op body receives, each with a label for messages.

    ``fn(*args, **kwargs)`` is what the engine hands an executor for an op:
    ``op.invoke(op_args, op_kwargs)``. The parts are the op's arguments that are not
    atoms (strings, numbers: nothing to change or to hand back) and, for a method op,
    its instance. Any other call has none.
    """
    from ember.xcs.ops import Op

    op = getattr(fn, "__self__", None)
    if not isinstance(op, Op) or getattr(fn, "__name__", None) != "invoke" \
            or kwargs or len(args) != 2:
        return []
    op_args, op_kwargs = args
    atoms = tree.ATOMS
    parts = [(f"positional argument {index} ({type(value).__name__})", value)
             for index, value in enumerate(op_args) if type(value) not in atoms]
    parts += [(f"keyword argument {key!r} ({type(value).__name__})", value)
              for key, value in op_kwargs.items() if type(value) not in atoms]
    if isinstance(op.fn, types.MethodType):
        owner = op.fn.__self__
        parts.append((f"its instance ({type(owner).__name__})", owner))
    return parts


class Sent:
    """A call pickled in the caller: the payload, and the pickler that wrote it, whose
    memo numbers the caller's objects (read only when a result refers to them)."""

    __slots__ = ("_numbered", "_writer", "payload")

    def __init__(self, payload: bytes, writer: pickle.Pickler) -> None:
        self.payload = payload
        self._writer = writer
        self._numbered: dict[int, Any] | None = None

    def load_result(self, data: bytes) -> Any:
        """Unpickle what ``Arrived.pickle_result`` wrote: an object the op received
        and handed back is the caller's own object again."""
        return _Resolving(io.BytesIO(data), self).load()

    def numbered(self, number: int) -> Any:
        """The caller's object that pickle numbered ``number`` in the payload."""
        if self._numbered is None:
            self._numbered = {index: value for index, value in self._writer.memo.copy().values()}
        return self._numbered[number]


class _Resolving(pickle.Unpickler):
    def __init__(self, file: BinaryIO, sent: Sent) -> None:
        super().__init__(file)
        self.sent = sent

    def persistent_load(self, pid: Any) -> Any:
        return self.sent.numbered(pid)


def send(pickler: PicklerClass, fn: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> Sent:
    """Pickle ``fn(*args, **kwargs)`` with ``pickler`` (cloudpickle's, or
    multiprocessing's): the labelled parts first, then the call.

    Raises:
        Whatever pickling raises (the caller names the part that failed).
    """
    buffer = io.BytesIO()
    writer = pickler(buffer, PROTOCOL)
    writer.dump(parts_of(fn, args, kwargs))
    writer.dump((fn, args, kwargs))
    payload = buffer.getvalue()
    buffer.close()  # the writer keeps its memo, not the bytes
    return Sent(payload, writer)


class Referring:
    """A pickler mixin writing each object in ``references`` as its number."""

    references: dict[int, int]

    def persistent_id(self, obj: Any) -> Any:
        return self.references.get(id(obj))


class ResultPickler(Referring, pickle.Pickler):
    """What a process worker pickles a result with."""


class Arrived:
    """A call unpickled on the worker from ``send``'s payload, with its parts (unpickling
    raises what it raises)."""

    __slots__ = ("args", "fn", "kwargs", "numbers", "parts", "unpickled")

    def __init__(self, payload: bytes) -> None:
        reader = pickle.Unpickler(io.BytesIO(payload))
        self.parts: Parts = reader.load()
        # What unpickling the parts made, by number: kept alive, so that no object the
        # body makes can take the id of one of them.
        self.unpickled: dict[int, Any] = reader.memo.copy() if self.parts else {}
        self.numbers = {id(value): index for index, value in self.unpickled.items()
                        if type(value) not in tree.ATOMS}
        self.fn, self.args, self.kwargs = reader.load()

    def run(self, name: str, place: str, dumps: Dumps) -> Any:
        """Call the body; raise ``ArgumentChangedError`` if it changed a part.

        Args:
            name: the op's name, for the message.
            place: where it ran ("a Dask worker"), for the message.
            dumps: the shipping pickler's ``dumps``: a part is compared by its pickle.
        """
        before = [_pickled(value, dumps) for _, value in self.parts]
        value = self.fn(*self.args, **self.kwargs)
        for (label, part), was in zip(self.parts, before, strict=True):
            if was is not None and _pickled(part, dumps) != was:
                raise _changed(name, label, part, place)
        return value

    def pickle_result(self, value: Any, pickler: PicklerClass) -> bytes:
        """``value`` pickled with ``pickler`` (a ``Referring`` one: the objects the op
        received are written as their number). Raises whatever pickling raises."""
        buffer = io.BytesIO()
        writer = pickler(buffer, PROTOCOL)
        if isinstance(writer, Referring):
            writer.references = self.numbers if type(value) not in tree.ATOMS else {}
        writer.dump(value)
        return buffer.getvalue()


def _pickled(value: Any, dumps: Dumps) -> bytes | None:
    try:
        return bytes(dumps(value))
    except Exception:  # not picklable (any more): compared as such
        return None


def _changed(name: str, label: str, part: Any, place: str) -> ArgumentChangedError:
    how = " (reading a missing key of a defaultdict adds it)" \
        if isinstance(part, defaultdict) else ""
    return ArgumentChangedError(
        f"op {name!r} changed {label} in place{how}, on {place}. There the op runs on a "
        f"pickled copy of what it is given (arguments, and the object of a method op), so "
        f"the change would stay on that copy: your object would not see it, and later "
        f"calls would not start from it, as they do in plain Python. Fix: return the new "
        f"value instead of changing the argument, or mark the op effect=True "
        f"(@op(effect=True); a leaf Operator: effect = True in its class): it "
        f"then runs in your process, in program order, on your own objects. State an "
        f"object keeps for itself (a cache) can be left out of its pickle "
        f"(__getstate__).")
