"""Recorded values a function reads by itself: from its closure, defaults or globals.

Inside ``autograph()`` a node gets its inputs through its arguments. A function that
reads a symbol some other way (``vmap(lambda x: ask(x, context))(questions)`` with
``context`` a placeholder, an ``@op`` defined in the block that names it) would meet
the symbol itself when the graph runs, long after the block: the node has no edge
from it, and no value for it. ``hidden_symbol`` finds such a symbol at the call, so
that ``vmap`` can run the function in the block (recording its op calls, whose
arguments then carry the symbol) and an op call can be refused with the fix.

The search looks at what the code can name: closure cells, defaults, the arguments of
a ``functools.partial``, the globals its code (and the code nested in it) names, and
the same of the functions found there and of ``__wrapped__``, a few levels deep.
"""

from __future__ import annotations

import dis
import functools
import types
from collections.abc import Callable, Iterator
from typing import Any

from ember.xcs.errors import GraphError
from ember.xcs.tracing.proxy import Proxy

__all__ = ["direct_symbols", "hidden_symbol", "rebind", "refuse_hidden"]

_DEPTH = 3  # functions reached through functions
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_LARGE = 1000  # containers this long are not searched (a symbol is not kept in a table)


def hidden_symbol(fn: Any, holds: Callable[[Any], bool]) -> str | None:
    """The name under which ``fn`` reads a value ``holds`` accepts, else ``None``.

    Example:
        >>> secret = object()
        >>> def reads():
        ...     return secret
        >>> hidden_symbol(reads, lambda value: value is secret)
        'secret'
        >>> hidden_symbol(len, lambda value: value is secret) is None
        True
    """
    return _search(fn, holds, _DEPTH, set())


def _search(fn: Any, holds: Callable[[Any], bool], depth: int, seen: set[int]) -> str | None:
    if depth < 0 or id(fn) in seen or issubclass(type(fn), Proxy):
        return None
    seen.add(id(fn))
    for name, value in _reads(fn):
        # A symbol, or a value another trace owns: its type and length are not looked at.
        proxy = issubclass(type(value), Proxy)
        if (proxy or _searchable(value)) and holds(value):
            return name
        if not proxy and callable(value) and not isinstance(value, type):
            inner = _search(value, holds, depth - 1, seen)
            if inner is not None:
                return inner  # the name the symbol is read under, where it is read
    return None


def _searchable(value: Any) -> bool:
    return not (type(value) in (list, tuple, dict) and len(value) > _LARGE)


def _reads(fn: Any) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of what ``fn`` can read besides its arguments."""
    for name, value, _ in _keyed_reads(fn):
        yield name, value


Key = tuple[str, Any]
"""Where a function reads a value: ``("cell", index)``, ``("global", name)``,
``("default", index)`` or ``("kwdefault", name)`` (``("arg", index)`` and
``("keyword", name)``: an argument of a ``functools.partial``)."""


def _keyed_reads(fn: Any) -> Iterator[tuple[str, Any, Key | None]]:
    """``(name, value, key)``: ``key`` says where ``rebind`` can put another value in its
    place (``None``: through another object, which ``rebind`` does not rebuild)."""
    if isinstance(fn, functools.partial):
        yield from ((f"{_name(fn.func)} argument", value, ("arg", index))
                    for index, value in enumerate(fn.args))
        yield from ((name, value, ("keyword", name)) for name, value in fn.keywords.items())
        yield _name(fn.func), fn.func, None
        return
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if not isinstance(fn, types.FunctionType):
        for attribute in ("__wrapped__", "fn"):  # a wrapper's function, an Op's
            try:
                inner = getattr(fn, attribute, None)
            except Exception:  # an object whose __getattr__ refuses: nothing to search
                continue
            if inner is not None:
                yield _name(inner), inner, None
        return
    code = fn.__code__
    for index, (name, cell) in enumerate(zip(code.co_freevars, fn.__closure__ or ())):
        try:
            yield name, cell.cell_contents, ("cell", index)
        except ValueError:  # a cell not filled yet
            continue
    yield from ((f"default of {_name(fn)}", value, ("default", index))
                for index, value in enumerate(fn.__defaults__ or ()))
    yield from ((name, value, ("kwdefault", name))
                for name, value in (fn.__kwdefaults__ or {}).items())
    namespace = fn.__globals__
    for name in _global_names(code):
        if name in namespace:
            yield name, namespace[name], ("global", name)


def direct_symbols(fn: Any, holds: Callable[[Any], bool]) -> list[tuple[Key, Any]] | None:
    """The values holding symbols that the function ``fn`` reads itself, with where:
    ``rebind`` can put their values in place. ``None`` when it reads one through another
    function (a helper's closure), or is another object (a ``functools.partial``).
    """
    if not isinstance(fn, types.FunctionType):
        return None
    found: list[tuple[Key, Any]] = []
    for _, value, key in _keyed_reads(fn):
        proxy = issubclass(type(value), Proxy)
        if (proxy or _searchable(value)) and holds(value):
            if key is None:
                return None
            found.append((key, value))
        elif not proxy and callable(value) and not isinstance(value, type) \
                and _search(value, holds, _DEPTH - 1, {id(fn)}) is not None:
            return None
    if any(kind == "global" for (kind, _), _ in found) and _stores_globals(fn.__code__):
        return None  # a copy reading a namespace of its own would store into that copy
    return found


def _stores_globals(code: types.CodeType) -> bool:
    return any(instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")
               for instruction in dis.get_instructions(code)) or any(
        _stores_globals(constant) for constant in code.co_consts
        if isinstance(constant, types.CodeType))


def rebind(fn: Any, keys: list[Key], values: tuple[Any, ...]) -> Any:
    """A copy of ``fn`` reading ``values`` where ``keys`` say (see ``direct_symbols``).

    Example:
        >>> def greet(name, greeting="hi"):
        ...     return f"{greeting} {name}"
        >>> rebind(greet, [("default", 0)], ("hello",))("Ada")
        'hello Ada'
    """
    cells = list(fn.__closure__ or ())
    defaults = list(fn.__defaults__ or ())
    kwdefaults = dict(fn.__kwdefaults__ or {})
    namespace = fn.__globals__
    for (kind, where), value in zip(keys, values, strict=True):
        if kind == "cell":
            cells[where] = types.CellType(value)
        elif kind == "default":
            defaults[where] = value
        elif kind == "kwdefault":
            kwdefaults[where] = value
        else:  # a global: the copy reads a namespace of its own
            namespace = dict(namespace) if namespace is fn.__globals__ else namespace
            namespace[where] = value
    copy = types.FunctionType(fn.__code__, namespace, fn.__name__,
                              tuple(defaults) or None, tuple(cells) or None)
    copy.__kwdefaults__ = kwdefaults or None
    copy.__qualname__ = fn.__qualname__
    return copy


@functools.lru_cache(maxsize=1024)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """The globals ``code`` loads (not attribute names: ``r.text`` does not read ``text``);
    cached per code object, since every recorded op call asks."""
    names = [str(instruction.argval) for instruction in dis.get_instructions(code)
             if instruction.opname in _GLOBAL_LOADS]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names.extend(_global_names(constant))
    return tuple(dict.fromkeys(names))


def _name(fn: Any) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def refuse_hidden(op: Any, holds: Callable[[Any], bool]) -> None:
    """Raise ``GraphError`` if the op ``op`` reads a recorded value by itself: its node
    would meet the symbol, not a value, when the graph runs."""
    name = hidden_symbol(op.fn, holds)
    if name is None:
        return
    raise GraphError(
        f"op {op.name!r} reads the recorded value {name!r} by itself (from its closure, "
        "defaults or globals), so its node would get no value for it when the graph runs. "
        f"Pass it as an argument instead: give the function a parameter for it (one "
        f"mapped by vmap or pmap: an argument with in_axes None; a scan step: args=)."
    )
