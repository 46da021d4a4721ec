"""``>>`` on a jitted callable: it composes as the callable it wraps does.

``jit(operator) >> step`` builds what ``operator >> step`` builds (a ``Chain``), with
the jitted callable in the operator's place, so the chain calls it jitted; so does
``step >> jit(operator)``. The wrapped callable's class decides, through its own
``__rshift__`` / ``__rrshift__`` written in Python; a function, or a class without
them, composes with nothing, as before (Python's ``TypeError``).

Example:
    >>> class Pipe:
    ...     def __call__(self, value):
    ...         return value
    ...     def __rshift__(self, other):
    ...         return ("then", self, other)
    >>> class Jitted(Composes):
    ...     def __init__(self, wrapped):
    ...         self.__wrapped__ = wrapped
    >>> jitted = Jitted(Pipe())
    >>> (jitted >> len)[1] is jitted
    True
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["Composes"]


class Composes:
    """``__rshift__`` / ``__rrshift__`` taken from the class of ``self.__wrapped__``."""

    __slots__ = ()

    def __rshift__(self, other: Any) -> Any:
        return _composed(self, "__rshift__", other)

    def __rrshift__(self, other: Any) -> Any:
        return _composed(self, "__rrshift__", other)


def _composed(jitted: Any, name: str, other: Any) -> Any:
    wrapped = getattr(jitted, "__wrapped__", None)
    method = getattr(type(wrapped), name, None)
    if not isinstance(method, types.FunctionType):  # a function, a C type: nothing to take
        return NotImplemented
    return method(jitted, other)
