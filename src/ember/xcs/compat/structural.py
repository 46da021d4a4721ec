"""``disable_structural_jit`` (the seed's ``ember.xcs.tracer.structural_jit`` path).

``disable_structural_jit()`` is a context manager in which every jitted function and
Operator runs as plain Python (in this thread), which is handy to compare results or
to debug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ember.xcs.api.jit import _set_disabled

__all__ = ["disable_structural_jit"]


@contextmanager
def disable_structural_jit() -> Iterator[None]:
    """Run every jitted function and Operator inside the block as plain Python.

    Applies to the current thread; blocks nest.

    Example:
        >>> from ember.xcs import jit, get_jit_stats
        >>> @jit
        ... def add(a, b):
        ...     return a + b
        >>> with disable_structural_jit():
        ...     add(1, 2)
        3
        >>> get_jit_stats(add)["calls"]
        0
    """
    _set_disabled(1)
    try:
        yield
    finally:
        _set_disabled(-1)
