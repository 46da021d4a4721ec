"""Errors raised by XCS itself.

Every class says what went wrong and what to do about it. User exceptions raised inside
ops are never wrapped: they reach the caller with their own type, message and
traceback, plus a note (``add_origin_note``) naming the node that raised them.

``XCSError`` is a ``RuntimeError`` (as in pyember), so code that catches
``RuntimeError`` around XCS calls keeps working; its subclasses add the standard type
their situation calls for (``ConfigError`` is a ``ValueError``, ``XCSTimeoutError`` a
``TimeoutError``).
"""

from __future__ import annotations

import linecache
import sys

from ember.errors import EmberError

__all__ = [
    "ArgumentChangedError",
    "ConfigError",
    "GraphError",
    "SerializationError",
    "TracingError",
    "TransformError",
    "XCSError",
    "XCSTimeoutError",
]


class XCSError(EmberError, RuntimeError):
    """Base class of every error that XCS raises on its own account.

    Cause: XCS was asked for something it cannot do (bad configuration, a graph that
    cannot run, a transform applied to the wrong kind of function).
    Fix: the message names the offending value and the change to make.

    Example:
        >>> issubclass(XCSError, RuntimeError), issubclass(ConfigError, ValueError)
        (True, True)
    """


class ConfigError(XCSError, ValueError):
    """A ``Config`` (or per-call option) has an unknown key, a wrong type or a bad value.

    Fix: use one of the documented fields with a value of the documented type; the
    message lists the valid fields.
    """


class TracingError(XCSError):
    """The tracer met a construct it cannot follow and fallback is disabled.

    Fix: enable ``Config(fallback=True)`` (the default) so the call runs as plain
    Python, or move the construct into an op.
    """


class GraphError(XCSError):
    """A graph is malformed: unknown variable names, cycles, missing placeholders.

    Fix: the message names the variable or node; bind every placeholder when executing.
    """


class TransformError(XCSError, ValueError):
    """``vmap``/``pmap``/``scan``/``grad`` received arguments they cannot apply to.

    A ``ValueError`` too, as JAX's transforms raise for the same mistakes (mapped
    inputs of different sizes, an axis out of range): ``except ValueError`` around a
    ``vmap`` call catches them whichever path ran.
    Fix: the message names the argument (field, axis or op) and what it expected.
    """


class SerializationError(XCSError):
    """An op (or its arguments) could not be shipped to a remote or process worker.

    Fix: define the op at module level and pass picklable arguments, or run it on
    the thread engine.
    """


class XCSTimeoutError(XCSError, TimeoutError):
    """A jitted call or graph execution ran past ``Config.timeout``.

    Fix: raise the timeout, or find the slow node with ``explain`` / profiling.
    """


class ArgumentChangedError(XCSError):
    """An op changed a list, dict, set or deque it received as an argument, in place.

    Under ``@jit`` an op runs while the code after its call goes on, on its own copy of
    the containers passed to it, so such a change would not reach the caller's object
    as it does in plain Python; the call fails instead of going on with other values.
    Fix: return the new value instead of changing the argument, or mark the op
    ``@op(effect=True)`` (a leaf ``Operator``: ``effect = True`` in its class): it then
    runs in program order on the caller's own objects.
    """


def add_note(error: BaseException, note: str) -> None:
    """Add ``note`` to the user's ``error`` once, unless the exception refuses it.

    An exception class may refuse new attributes (a frozen dataclass): it is then
    raised as it is, since its type and message matter more than XCS's note.
    """
    try:
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
    except Exception:  # the note is optional; raising the error as it is is not
        pass


def add_origin_note(error: BaseException, note: str) -> None:
    """``add_note`` for the note naming the node and the line where XCS met the user's
    ``error``. Left out while ``doctest`` runs an example: it compares the exception's
    text with what the example expects, which is what plain Python prints."""
    doctest = sys.modules.get("doctest")
    # A running DocTestRunner puts its own method in linecache.getlines (for its examples).
    if doctest is None or not isinstance(getattr(linecache.getlines, "__self__", None),
                                         doctest.DocTestRunner):
        add_note(error, note)
