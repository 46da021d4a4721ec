"""Process-wide hit and miss counters of the result cache, per op."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["EVENTS", "counters", "record", "reset_counters"]

EVENTS = ("hits", "misses", "writes", "unstorable")
"""``hits``: answered from the store; ``misses``: ran the body; ``writes``: results
stored; ``unstorable``: results that could not be pickled (returned, not stored)."""

_lock = threading.Lock()
_by_op: dict[str, dict[str, int]] = {}


def record(op: str, event: str) -> None:
    """Count one ``event`` (one of ``EVENTS``) for the op called ``op``."""
    with _lock:
        counts = _by_op.get(op)
        if counts is None:
            counts = _by_op[op] = dict.fromkeys(EVENTS, 0)
        counts[event] += 1


def counters() -> dict[str, Any]:
    """Totals since the process started (or ``reset_counters``), and per op.

    Returns:
        ``{"hits": n, "misses": n, "writes": n, "unstorable": n, "by_op": {name: {...}}}``.

    Example:
        >>> sorted(counters())
        ['by_op', 'hits', 'misses', 'unstorable', 'writes']
    """
    with _lock:
        by_op = {name: dict(counts) for name, counts in _by_op.items()}
    totals: dict[str, Any] = {event: sum(c[event] for c in by_op.values()) for event in EVENTS}
    totals["by_op"] = by_op
    return totals


def reset_counters() -> None:
    """Set every counter back to zero."""
    with _lock:
        _by_op.clear()
