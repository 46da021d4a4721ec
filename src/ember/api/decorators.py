"""Decorators for XCS: ``op``, ``mark_orchestration``, ``mark_tensor``, ``mark_hybrid``,
``mark_pytree_safe``.

``op`` is pyember's: it gives an ``Operator`` that XCS schedules as one op (see
``ember.operators.function``); ``ember.xcs.op`` gives the bare ``Op``.
``mark_orchestration`` / ``mark_tensor`` make ops of the given kind. ``mark_hybrid``
and ``mark_pytree_safe`` record a hint on the function and return it unchanged: XCS
decides tensor or orchestration by trying (a hybrid function's tensor part goes to
JAX and its op calls to the engine whether or not it is marked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ember.operators.function import op
from ember.xcs.ops import mark_orchestration, mark_tensor

__all__ = ["mark_hybrid", "mark_orchestration", "mark_pytree_safe", "mark_tensor", "op"]

F = TypeVar("F", bound=Callable[..., Any])


def mark_hybrid(fn: F) -> F:
    """Mark ``fn`` as mixing tensor code and op calls (a hint; ``fn`` is unchanged).

    Sets ``fn._xcs_kind = "hybrid"``. Under ``@jit`` such a function runs as it would
    unmarked: JAX is tried first and the first op reached switches it to the engine.

    Raises:
        TypeError: ``fn`` is not callable.

    Example:
        >>> @mark_hybrid
        ... def score(text):
        ...     return len(text)
        >>> score("abc"), score._xcs_kind
        (3, 'hybrid')
    """
    if not callable(fn):
        raise TypeError(f"mark_hybrid needs a callable, got {type(fn).__name__}.")
    fn._xcs_kind = "hybrid"  # type: ignore[attr-defined]
    return fn


def mark_pytree_safe(safe: bool = True) -> Callable[[F], F]:
    """Record whether ``fn``'s outputs are JAX pytrees (a hint; ``fn`` is unchanged).

    Sets ``fn._xcs_pytree_safe``. ``vmap``/``pmap`` decide from the values they see:
    array outputs are stacked, anything else is collected in lists.

    Args:
        safe: whether the outputs are valid pytrees.

    Raises:
        TypeError: ``safe`` is not a bool.

    Example:
        >>> @mark_pytree_safe(False)
        ... def handle(path):
        ...     return path
        >>> handle._xcs_pytree_safe
        False
    """
    if not isinstance(safe, bool):
        raise TypeError(
            f"mark_pytree_safe(safe) takes a bool (use @mark_pytree_safe() or "
            f"@mark_pytree_safe(False)), got {type(safe).__name__}."
        )

    def mark(fn: F) -> F:
        fn._xcs_pytree_safe = safe  # type: ignore[attr-defined]
        return fn

    return mark
