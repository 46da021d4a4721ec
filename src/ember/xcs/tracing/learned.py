"""Learned barriers: lines where a lazy value was rejected by code that needs a real one.

Some C functions demand exact built-in types (``"".join(lazies)``, ``json.dumps``,
``re.match``). When a traced run fails on such a line, the jitted function remembers
the line. On later calls, ``sys.settrace`` watches only the frames of those code
objects: when a learned line starts, the lazy values it reads (locals, and lists,
tuples and dicts inside them) are replaced by their values; a list or dict
comprehension on that line stays parallel and has its items materialised when it
returns; any other op called directly on the line runs eagerly.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.frames import names_on_lines

__all__ = ["LearnedBarrier", "LearnedBarriers", "install_tracer"]

_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>"})


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
        self._sites: dict[CodeType, tuple[tuple[int, int], ...]] = {}
        self._records: list[LearnedBarrier] = []

    def __bool__(self) -> bool:
        return self.active

    @property
    def active(self) -> bool:
        """Whether any line was learned (read on every call: keep it cheap)."""
        return bool(self._sites)

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
            ranges = self._sites.get(code, ())
            if (first, last) in ranges or len(self._records) >= self._limit:
                return False
            self._sites[code] = (*ranges, (first, last))
            self._records.append(LearnedBarrier(location, reason))
            return True

    def clear(self) -> None:
        """Forget every learned line."""
        with self._lock:
            self._sites.clear()
            self._records.clear()

    def ranges(self, code: CodeType) -> tuple[tuple[int, int], ...]:
        """The learned line ranges of ``code``."""
        return self._sites.get(code, ())


Materializer = Callable[[Any, FrameType], Any]


def install_tracer(learned: LearnedBarriers, materialize: Materializer) -> Callable[[], None]:
    """Watch learned lines in this thread; returns the function that stops watching.

    ``materialize(value, frame)`` returns ``value`` with every lazy leaf replaced by
    its value (mutating lists and dicts in place), recording a barrier in ``frame``.
    """
    previous = sys.gettrace()

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            for first, last in learned.ranges(frame.f_code):
                if first <= frame.f_lineno <= last:
                    local_vars = frame.f_locals
                    for name in names_on_lines(frame.f_code, first, last):
                        if name in local_vars:
                            local_vars[name] = materialize(local_vars[name], frame)
                    break
        return on_line

    def on_return(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return" and arg is not None:
            materialize(arg, frame)
        return on_return

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        if learned.ranges(code):
            return on_line
        if code.co_name in _COMPREHENSIONS:
            caller = frame.f_back
            if caller is not None and learned.covers(caller.f_code, caller.f_lineno):
                return on_return
        return None

    sys.settrace(on_call)

    def stop() -> None:
        sys.settrace(previous)

    return stop
