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

__all__ = ["hidden_symbol", "refuse_hidden"]

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
        if not proxy and callable(value) and not isinstance(value, type) \
                and _search(value, holds, depth - 1, seen) is not None:
            return name
    return None


def _searchable(value: Any) -> bool:
    return not (type(value) in (list, tuple, dict) and len(value) > _LARGE)


def _reads(fn: Any) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of what ``fn`` can read besides its arguments."""
    if isinstance(fn, functools.partial):
        yield from ((f"{_name(fn.func)} argument", value) for value in fn.args)
        yield from fn.keywords.items()
        yield _name(fn.func), fn.func
        return
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    wrapped = getattr(fn, "__wrapped__", None) if not isinstance(fn, types.FunctionType) \
        else None
    if wrapped is not None:
        yield _name(wrapped), wrapped
    inner = getattr(fn, "fn", None)  # an Op's function, an adapter's
    if inner is not None and not isinstance(fn, types.FunctionType):
        yield _name(inner), inner
    if not isinstance(fn, types.FunctionType):
        return
    code = fn.__code__
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            yield name, cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
    yield from ((f"default of {_name(fn)}", value) for value in fn.__defaults__ or ())
    yield from (fn.__kwdefaults__ or {}).items()
    namespace = fn.__globals__
    for name in _global_names(code):
        if name in namespace:
            yield name, namespace[name]


def _global_names(code: types.CodeType) -> Iterator[str]:
    """The globals ``code`` loads (not attribute names: ``r.text`` does not read ``text``)."""
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_LOADS:
            yield str(instruction.argval)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _global_names(constant)


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
        f"Pass it to the op as an argument: {op.name}(..., {name}) with a parameter for it."
    )
