"""An op's exception sent back from a worker process as it was raised.

Pickling an exception records its type and ``args`` and calls the type with those
``args`` to make it again; an exception whose ``__init__`` wants something else (a
keyword-only argument, an SDK's ``response=``) fails there, on the caller's side: a
process pool then takes itself for broken, and Dask replaces the exception. An
attribute that does not pickle (a lock, a client) fails it on the worker's side.

Pickling also leaves out the attributes an exception class declares in ``__slots__``
(``BaseException`` pickles its ``args`` and ``__dict__`` only): they would come back
missing, with no error at all.

``sendable`` checks the round trip on the worker (and that the pool can write the
exception's traceback text, which reads attributes as ``__notes__``). An exception that
does not survive it, whole, travels as a ``Carried``, which unpickles into the op's exception again,
made without calling its ``__init__``: same type, ``args`` and attributes (its
``__dict__`` and its slots), minus those that do not pickle (a note names them).
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.errors import SerializationError, add_note

__all__ = ["Carried", "carry", "sendable"]


class Carried(Exception):
    """Raised on the worker in place of an exception that does not survive pickling;
    unpickled on the caller's side, it is that exception again (``rebuild``)."""

    def __init__(self, kind: type, args: tuple[Any, ...], state: dict[str, Any],
                 slots: dict[str, Any], dropped: list[str], where: str) -> None:
        super().__init__(kind.__name__)
        self.parts = (kind, args, state, slots, dropped, where)

    def __reduce__(self) -> tuple[Any, ...]:
        return (rebuild, self.parts)


def rebuild(kind: type, args: tuple[Any, ...], state: dict[str, Any], slots: dict[str, Any],
            dropped: list[str], where: str) -> BaseException:
    """The exception a ``Carried`` stands for, made again without its ``__init__``."""
    error: BaseException = kind.__new__(kind)  # type: ignore[call-overload]
    error.args = args
    error.__dict__.update(state)
    for name, value in slots.items():
        object.__setattr__(error, name, value)  # the slot itself, as __dict__ is above
    if dropped:
        add_note(error, f"[ember.xcs] {', '.join(dropped)} of this exception could not be "
                        f"sent back from {where} and were dropped.")
    return error


Dumps = Callable[[Any], bytes]


def sendable(error: BaseException, where: str, dumps: Dumps = pickle.dumps) -> BaseException:
    """``error`` if it survives pickling with ``dumps`` (Dask: cloudpickle's), else a
    ``Carried`` for it, else a ``SerializationError`` saying so; ``where``: "the Dask
    worker running op 'x'"."""
    copy = _round_trip(error, dumps)
    if copy is not None and all(hasattr(copy, name) for name in _slot_values(error)) \
            and _described(error):
        return error
    return carry(error, where, dumps)


def _described(error: BaseException) -> bool:
    """Whether the worker's pool can describe ``error``: it sends the text of its
    traceback along, made by ``traceback``, which reads ``__notes__`` and the like. A
    class whose ``__getattr__`` raises something other than ``AttributeError`` fails
    there, outside any ``try``, and the worker process dies (the pool is then broken)."""
    try:
        traceback.TracebackException(type(error), error, None, compact=True)
    except Exception:
        return False
    return True


def carry(error: BaseException, where: str, dumps: Dumps = pickle.dumps) -> BaseException:
    """A ``Carried`` for ``error`` (its cause and context stay behind), or a
    ``SerializationError`` when even that does not pickle."""
    state = {key: value for key, value in vars(error).items() if _pickles(value, dumps)}
    dropped = sorted(set(vars(error)) - set(state))
    slot_values = _slot_values(error)
    slots = {key: value for key, value in slot_values.items() if _pickles(value, dumps)}
    dropped += sorted(set(slot_values) - set(slots))
    args = error.args
    if not _pickles(args, dumps):
        args = tuple(arg if _pickles(arg, dumps) else repr(arg) for arg in args)
        dropped.append("args that do not pickle (kept as their repr)")
    carried = Carried(type(error), args, state, slots, dropped, where)
    if _round_trip(carried, dumps) is not None:
        return carried
    return SerializationError(
        f"{where} raised {type(error).__name__}: {error}, which cannot be sent back (its "
        "class cannot be loaded there). Raise exceptions of importable classes.")


def _round_trip(value: Any, dumps: Dumps) -> Any:
    """``value`` pickled and unpickled, or ``None`` when that fails."""
    try:
        return pickle.loads(dumps(value))
    except Exception:  # any failure means: not as it is
        return None


def _slot_values(error: BaseException) -> dict[str, Any]:
    """The attributes ``error``'s classes declare in ``__slots__`` that are set, by the
    name they are stored under (``__x`` of class ``C`` is ``_C__x``)."""
    values: dict[str, Any] = {}
    for name in tree.slot_names(type(error)):
        try:
            values[name] = object.__getattribute__(error, name)
        except AttributeError:  # declared, never set
            continue
    return values


def _pickles(value: Any, dumps: Dumps) -> bool:
    try:
        dumps(value)
    except Exception:
        return False
    return True
