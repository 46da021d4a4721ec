"""What Python's C code does with the user code it runs: which results it checks at
once, which exceptions it catches, and where a ``StopIteration`` ends up.

Under ``@jit`` an op call returns a lazy value and its exception is raised later, at a
barrier or at the end of the call. That is plain Python's meaning wherever the glue
itself is the next to see them, but not inside code that the interpreter runs and then
acts on: a ``__str__`` must return a ``str`` at once, a ``StopIteration`` from a
``__next__`` ends a loop, an ``IndexError`` from the ``__getitem__`` an iteration calls
ends it, an ``AttributeError`` from a property of a class with ``__getattr__`` falls
back to it, ``hasattr`` turns one into ``False``, and a library function that calls a
function of the user's it was handed uses what it returns at once (``re.sub``'s
``repl`` must give a str). ``tracing.frames`` asks this module,
per code object and call site, whether an op called there must run at its call
(``entry_of``, ``reads_with_fallback``), and ``stop_becomes`` gives what plain Python makes of
a ``StopIteration`` that an op which ran later raised.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from ember.xcs.errors import TracingError

__all__ = ["GENERATORS", "Entry", "calling_back", "entry_of", "mapped", "probing",
           "reads_with_fallback", "refused_class_info", "stop_becomes"]

# Special methods whose result the interpreter's C code checks the moment they return
# (``__str__`` must give a str, ``__bool__`` a bool, ``__index__`` an int), or whose
# StopIteration it takes for the end of the items (``__next__``): an op called inside
# one runs at its call, so that the method returns a value, or raises, as in plain
# Python. (A jitted function of such a name materialises its result anyway.)
_SPECIAL_METHODS = frozenset({
    "__str__", "__repr__", "__format__", "__bytes__", "__fspath__", "__bool__", "__hash__",
    "__len__", "__length_hint__", "__index__", "__int__", "__float__", "__complex__",
    "__next__",
})
# Code whose frame turns a StopIteration raised in it into RuntimeError (PEP 479), by
# its flags: CO_GENERATOR, CO_ASYNC_GENERATOR.
GENERATORS = {0x20: "generator", 0x200: "async generator"}
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # and CO_COROUTINE: not a special method's body


class Entry(enum.Enum):
    """What C code that acts on what a frame's code raises or returns may do with it."""

    SPECIAL = 1  # one of _SPECIAL_METHODS: its ops run at their call
    ITEM = 2  # __getitem__: an iteration over it ends on its IndexError (not so x[i])
    GENERATOR = 3  # a StopIteration raised in it becomes RuntimeError (PEP 479)
    PROBE = 4  # ``probing``: hasattr and getattr with a default catch AttributeError
    MAPPED = 5  # ``mapped``: a StopIteration ends the items of map() or filter()
    CALLBACK = 6  # ``calling_back``: library code uses what the user's code returns at once


def entry_of(code: CodeType, internal: bool) -> Entry | None:
    """What ``code`` is, for ``tracing.frames`` (``internal``: code of Ember's own)."""
    if internal:
        return _INTERNAL_ENTRIES.get(code)
    if code.co_flags & _GENERATOR_FLAGS:
        return Entry.GENERATOR if code.co_flags & 0x220 else None
    if code.co_name in _SPECIAL_METHODS:
        return Entry.SPECIAL
    return Entry.ITEM if code.co_name == "__getitem__" else None


def reads_with_fallback(frame: FrameType, known: dict[type, bool]) -> bool:
    """Whether ``frame``, run by an attribute read (a property, a descriptor's
    ``__get__``), reads one of an object whose class has ``__getattr__``, which plain
    Python calls on an ``AttributeError`` from it. ``known``: the answer per class, for
    this code (a class that gets a ``__getattr__`` later keeps its first answer)."""
    code = frame.f_code
    if not code.co_argcount or code.co_flags & _GENERATOR_FLAGS or code.co_name == "__getattr__":
        return False  # (an AttributeError from __getattr__ itself propagates)
    owner = type(frame.f_locals.get(code.co_varnames[1 if code.co_name == "__get__" else 0]))
    found = known.get(owner)
    if found is None:  # (a failed hasattr on a class formats an error message: slow)
        found = known[owner] = hasattr(owner, "__getattr__")
    return found


def probing(fn: Callable[..., Any], /, *args: Any) -> Any:
    """``fn(*args)``, for ``hasattr`` and ``getattr`` with a default, which catch the
    ``AttributeError`` of the attribute they read: ops that reading calls (a property's)
    run at their call, so that their ``AttributeError`` reaches them."""
    return fn(*args)


# Values of builtin data types: no class, and without ``__instancecheck__`` or
# ``__bases__``, so ``isinstance(x, "str")`` fails whatever ``x`` is.
_DATA = frozenset({str, bytes, int, float, complex, bool, type(None), list, dict, set,
                   frozenset})


def refused_class_info(value: object) -> bool:
    """Whether ``isinstance(x, value)`` may fail on ``value`` itself: it is (or a tuple
    given holds) a value of a builtin data type. Such a call goes through ``probing``, so
    that its ``TypeError`` comes out of XCS's frame: the program's own error (a lazy
    ``x`` is asked for its class through a barrier), not a lazy value rejected. A tuple
    holding anything else than classes and such values (an op result) is not one."""
    if type(value) is tuple:
        return any(map(refused_class_info, value)) and all(
            issubclass(type(item), type) or refused_class_info(item) for item in value)
    return type(value) in _DATA


def mapped(prepare: Callable[..., Callable[[], Any]], fn: Any, /, *args: Any) -> Any:
    """``prepare(fn, *args)()``: one call of the function given to ``map`` or ``filter``,
    whose ``StopIteration`` ends their items (see ``stop_becomes``)."""
    return prepare(fn, *args)()


def calling_back(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, for a library function that calls code of the user's while
    it runs and uses what that code returns at once: ``re.sub`` calling its ``repl``,
    ``json.dumps`` its ``default`` or a ``JSONEncoder`` subclass of the user's, a
    ``functools.cache`` wrapper the function it caches. Ops and lifted operations called
    under it run at their call, so that the user's code gives the library values."""
    return fn(*args, **kwargs)


_INTERNAL_ENTRIES = {probing.__code__: Entry.PROBE, mapped.__code__: Entry.MAPPED,
                     calling_back.__code__: Entry.CALLBACK}


def stop_becomes(error: BaseException, where: str | None, name: str) -> BaseException:
    """What plain Python makes of ``error``, raised by op ``name`` called where
    ``where`` says (``"generator"``, ``"async generator"``, ``"iteration"`` or ``None``:
    where nothing meets a ``StopIteration`` before the caller).

    In a generator a ``StopIteration`` becomes a ``RuntimeError`` (PEP 479; so does a
    ``StopAsyncIteration`` in an async generator). Where it would end an iteration (an
    iterator's next item, the function ``map`` calls), plain Python stops that
    iteration, which XCS cannot do for an op that ran later: a ``TracingError`` says so,
    instead of a bare ``StopIteration`` that could end some loop of the caller's.

    Example:
        >>> stop_becomes(StopIteration(), "generator", "first_match")
        RuntimeError('generator raised StopIteration')
        >>> stop_becomes(KeyError("k"), "generator", "lookup")
        KeyError('k')
    """
    if where is None or not isinstance(error, StopIteration | StopAsyncIteration):
        return error
    if where == "iteration":
        stopped = TracingError(
            f"op {name} raised {type(error).__name__} where it ends an iteration (an "
            "iterator's next item, or the function map() or filter() calls): plain Python "
            "stops the iteration there, but under @jit the op ran later, in parallel. "
            "Call it inside a try block (it then runs at its call), or return a value "
            "instead of raising.")
        stopped.__cause__ = error
        return stopped
    if isinstance(error, StopAsyncIteration) and where != "async generator":
        return error
    converted = RuntimeError(f"{where} raised {type(error).__name__}")
    converted.__cause__ = error
    return converted
