"""Learned barriers: lines where a lazy value was rejected by code that needs a real one.

The tracer resolves lazy values before every call it can see coming (see
``tracing.runtime``). When C code still rejects one — reached in a way the rewritten
code could not see, or in a function whose source is unavailable — the jitted
function remembers the line (the last resort). On later calls a line watcher
(``versions.watch_lines``) replaces the lazy values the line reads by their values
before it runs, and any op called directly on the line runs eagerly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing import versions
from ember.xcs.tracing.codemap import CodeMap

__all__ = ["LearnedBarrier", "LearnedBarriers", "install_tracer"]



@dataclass(frozen=True)
class LearnedBarrier:
    """One learned line, with the error that taught it (type and message only)."""

    location: SourceLocation
    reason: str

    def __str__(self) -> str:
        return f"{self.location} ({self.reason})"


class LearnedBarriers:
    """The learned lines of one jitted function (bounded; guarded by ``_lock``)."""

    def __init__(self, limit: int = 64) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._sites: CodeMap[tuple[tuple[int, int], ...]] = CodeMap()
        self._records: list[LearnedBarrier] = []
        self.active = False  # any line learned? (read on every call: a plain attribute)

    def __bool__(self) -> bool:
        return self.active

    @property
    def records(self) -> tuple[LearnedBarrier, ...]:
        """Every learned barrier, oldest first."""
        with self._lock:
            return tuple(self._records)

    def covers(self, code: CodeType, lineno: int) -> bool:
        """Whether line ``lineno`` of ``code`` is a learned barrier."""
        ranges = self._sites.get(code)
        return ranges is not None and any(first <= lineno <= last for first, last in ranges)

    def add(self, code: CodeType, first: int, last: int, location: SourceLocation,
            reason: str) -> bool:
        """Learn lines ``first..last`` of ``code``; ``False`` if known already or full."""
        with self._lock:
            ranges = self._sites.get(code) or ()
            if (first, last) in ranges or len(self._records) >= self._limit:
                return False
            self._sites[code] = (*ranges, (first, last))
            self.active = True
            self._records.append(LearnedBarrier(location, reason))
            return True

    def clear(self) -> None:
        """Forget every learned line."""
        with self._lock:
            self._sites.clear()
            self._records.clear()
            self.active = False

    def ranges(self, code: CodeType) -> tuple[tuple[int, int], ...]:
        """The learned line ranges of ``code``."""
        return self._sites.get(code) or ()


Materializer = Callable[[Any, FrameType], Any]


def install_tracer(learned: LearnedBarriers, materialize: Materializer) -> Callable[[], None]:
    """Watch learned lines in this thread; returns the function that stops watching.

    Before a learned line runs, ``materialize(value, frame)`` replaces every lazy
    value the line reads (locals, and containers inside them) by its value, in place,
    recording a barrier in ``frame``.
    """

    def on_line(frame: FrameType) -> None:
        code = frame.f_code
        for first, last in learned.ranges(code):
            if first <= frame.f_lineno <= last:
                local_vars = frame.f_locals
                for name in versions.loaded_names(code, first, last):
                    if name in local_vars:
                        value = local_vars[name]
                        new = materialize(value, frame)
                        if new is not value:
                            versions.set_local(frame, name, new)
                break

    return versions.watch_lines(lambda code: bool(learned.ranges(code)), on_line)
