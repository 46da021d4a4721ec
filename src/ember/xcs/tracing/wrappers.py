"""Library wrappers around functions of the user's, called by traced code.

A wrapper written in C or in a library calls the function it wraps itself, so that
function runs as it is, not in its rewritten form: C code in it would meet the lazy
values its ops return (``" / ".join([llm(a), llm(b)])``), which the rewritten form
would have seen coming, and the whole jitted function would run again from the top,
repeating its side effects. Two kinds are handled:

- wrappers that only choose what to call are seen through (``seen_through``): a
  ``functools.singledispatch`` function calls the implementation registered for the
  class of its first argument, an ``operator.methodcaller`` the method it names; the
  trace calls that itself, rewritten, as if the glue had named it.
- ``functools.cache`` and ``lru_cache`` keep what the function returns and count their
  hits, so the wrapper itself is called (the same hits, misses and entries as plain
  Python); the function behind it (``behind_cache``) runs under
  ``protocols.calling_back``: its ops run at their call and it returns values, which
  is also what the cache keeps.

Example:
    >>> import functools
    >>> @functools.singledispatch
    ... def describe(value):
    ...     return "thing"
    >>> @describe.register
    ... def _(value: int):
    ...     return "number"
    >>> fn, args, kwargs = seen_through(describe, (1,), {})
    >>> fn(*args, **kwargs)
    'number'
"""

from __future__ import annotations

import functools
import operator
import types
from typing import Any

from ember.xcs.tracing.usercode import CACHE_WRAPPER, calls_user_code

__all__ = ["DISPATCHING", "behind_cache", "seen_through"]

# The code of every singledispatch function (typeshed does not see the function it is).
DISPATCHING: types.CodeType = functools.singledispatch(len).__code__  # type: ignore[attr-defined]


def seen_through(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                 ) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
    """The call that ``fn(*args, **kwargs)`` makes, when ``fn`` is a wrapper that only
    chooses what to call (see the module docstring); else ``None``.

    The choice is made now, as the wrapper would make it: the class of a
    ``singledispatch`` function's first argument is read (an op result's is waited for),
    a ``methodcaller``'s method is read from its object.
    """
    kind = type(fn)
    if kind is types.FunctionType and fn.__code__ is DISPATCHING and args:
        return fn.dispatch(args[0].__class__), args, kwargs
    if kind is operator.methodcaller and len(args) == 1 and not kwargs:
        made_by, given = fn.__reduce__()  # (methodcaller, (name, *args)), or with keywords
        if type(made_by) is functools.partial:  # (partial(methodcaller, name, **kw), args)
            return getattr(args[0], made_by.args[0]), tuple(given), dict(made_by.keywords)
        return getattr(args[0], given[0]), tuple(given[1:]), {}
    return None


def behind_cache(fn: Any) -> bool:
    """Whether ``fn`` is a ``functools.cache`` or ``lru_cache`` wrapper (or a method bound
    to one) of a function of the user's.

    Example:
        >>> import functools
        >>> behind_cache(functools.cache(lambda text: text)), behind_cache(functools.cache(len))
        (True, False)
    """
    if type(fn) is types.MethodType:
        fn = fn.__func__
    return type(fn) is CACHE_WRAPPER and calls_user_code((fn,), {})
