"""A leaf Operator as one op: made once per operator, read as the user's ``forward``.

``leaf_op(operator)`` is what ``Operator.as_op`` gives. The op is kept on the
operator (its ``_ember_op`` slot, never pickled or copied), so that what XCS learns
from its runs, the class of the previous result and how long runs take, serves the
next call. Its body is ``Operator._run`` bound to the operator through ``LeafBody``,
whose ``__wrapped__`` is the class's ``forward``: XCS reads the return annotation and
the globals of the user's code there, as it reads an ``@op`` function's.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any

from ember.xcs import Op

__all__ = ["LeafBody", "leaf_op"]

_lock = threading.Lock()  # guards the making of an operator's op (held for a moment)


class LeafBody:
    """What a leaf operator's op calls, bound to the operator: ``Operator._run``.

    A bound method, so that XCS sees the operator as the op's instance (as for an
    ``@op`` method). Pickled, the bound method is ``operator._run`` (its ``__name__``).
    """

    __slots__ = ("cls",)
    __name__ = "_run"

    def __init__(self, cls: Any) -> None:  # an Operator class (base imports this module)
        self.cls = cls

    def __call__(self, operator: Any, /, *args: Any, **kwargs: Any) -> Any:
        return operator._run(*args, **kwargs)

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        forward: Callable[..., Any] = self.cls.forward
        return forward


def leaf_op(operator: Any) -> Op:
    """The op of ``operator`` (made on the first call; threads asking first share it)."""
    made = _made(operator)
    if made is None:
        with _lock:
            made = _made(operator)
            if made is None:
                cls = type(operator)
                made = Op(
                    types.MethodType(LeafBody(cls), operator),
                    name=cls.__name__,
                    effect=cls.effect,
                    max_concurrency=cls.max_concurrency,
                    limit_key=cls if cls.max_concurrency is not None else None,
                    identity=(cls, id(operator)),
                )
                object.__setattr__(operator, "_ember_op", made)
    return made


def _made(operator: Any) -> Op | None:
    """The op kept on ``operator``, if any (read past a ``__getattr__`` of the user's)."""
    try:
        made: Op | None = object.__getattribute__(operator, "_ember_op")
    except AttributeError:  # the slot is empty: no op yet
        return None
    return made
