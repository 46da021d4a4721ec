"""pyember's marks: ``mark_hybrid`` and ``mark_pytree_safe``.

Both record a statement about a function on the function itself and return it
unchanged. XCS decides tensor or orchestration by trying and batches by the values it
sees, so neither mark changes what runs; ``analyze_operations_v2`` reports the hybrid
mark (``OpKind.HYBRID``). The attribute names are pyember's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["is_marked_hybrid", "mark_hybrid", "mark_pytree_safe"]

F = TypeVar("F", bound=Callable[..., Any])


def is_marked_hybrid(fn: Any) -> bool:
    """Whether ``fn`` carries both of pyember's marks (``mark_hybrid`` sets them)."""
    marks = getattr(fn, "__dict__", {})
    return marks.get("_xcs_is_tensor") is True and marks.get("_xcs_is_orchestration") is True


def mark_hybrid(fn: F) -> F:
    """Mark ``fn`` as mixing tensor code and op calls (pyember's mark; ``fn`` is unchanged).

    Sets pyember's marks ``_xcs_is_tensor`` and ``_xcs_is_orchestration``, which
    ``analyze_operations_v2`` reports as ``OpKind.HYBRID``. It changes nothing that
    runs: under ``@jit``, JAX traces such a function until its first op call, which
    moves it to the engine for good, marked or not.

    Raises:
        TypeError: ``fn`` is not callable.

    Example:
        >>> @mark_hybrid
        ... def score(text):
        ...     return len(text)
        >>> from ember.xcs import analyze_operations_v2
        >>> score("abc"), analyze_operations_v2(score).kind
        (3, <OpKind.HYBRID: 3>)
    """
    if not callable(fn):
        raise TypeError(f"mark_hybrid needs a callable, got {type(fn).__name__}.")
    # pyember's marks are attributes on the callable itself, which a Callable type
    # does not declare.
    fn._xcs_is_tensor = True  # type: ignore[attr-defined]
    fn._xcs_is_orchestration = True  # type: ignore[attr-defined]
    return fn


def mark_pytree_safe(safe: bool = True) -> Callable[[F], F]:
    """Record whether ``fn``'s outputs are JAX pytrees (pyember's mark; ``fn`` is unchanged).

    Sets ``fn._xcs_is_pytree_safe``. A hint for readers and tools: ``vmap``/``pmap``
    decide from the values they see (array outputs are stacked, others collected in
    lists), so the mark changes nothing that runs.

    Args:
        safe: whether the outputs are valid pytrees.

    Raises:
        TypeError: ``safe`` is not a bool, or the decorated object is not callable.

    Example:
        >>> @mark_pytree_safe(False)
        ... def handle(path):
        ...     return path
        >>> handle._xcs_is_pytree_safe
        False
    """
    if not isinstance(safe, bool):
        raise TypeError(
            f"mark_pytree_safe(safe) takes a bool (use @mark_pytree_safe() or "
            f"@mark_pytree_safe(False)), got {type(safe).__name__}."
        )

    def mark(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"mark_pytree_safe needs a callable, got {type(fn).__name__}.")
        # pyember's mark is an attribute on the callable, which F does not declare.
        fn._xcs_is_pytree_safe = safe  # type: ignore[attr-defined]
        return fn

    return mark
