"""Reading the caller's frames: where an op was called, and how it must run.

An op (or a lifted operation) called from user code runs lazily unless plain Python
could observe its exception right there: inside a ``try`` or ``with`` block, or on a
line where XCS learned that a lazy value is rejected. For rewritten code the ``try``
lines come from its syntax tree (exact); for other code, from the exception table
(``versions.handler_ranges``). Frames of Ember itself are skipped, so locations
always point at user code.
"""

from __future__ import annotations

import enum
import os
import sys
import sysconfig
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing import versions

if TYPE_CHECKING:
    from ember.xcs.tracing.learned import LearnedBarriers

__all__ = [
    "CallMode",
    "RejectionSite",
    "inspect_site",
    "is_internal",
    "location_of",
    "register_try_lines",
    "rejection_site",
]

# src/ember/xcs/tracing/frames.py -> src/ember/
_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep
_LIBRARY_DIRS = tuple(
    {
        os.path.abspath(path) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    }
)
_CACHE_LIMIT = 50_000

_internal: dict[CodeType, bool] = {}
_library: dict[CodeType, bool] = {}
_in_try: dict[tuple[CodeType, int], bool] = {}
_locations: dict[tuple[CodeType, int], SourceLocation] = {}
_try_lines: dict[CodeType, frozenset[int]] = {}  # rewritten code: lines inside try/with


class CallMode(enum.Enum):
    """How an op or lifted operation must run at a call site (value: the reason)."""

    LAZY = "lazy"
    TRY = "try/with"  # eager: an enclosing try/with block could observe its exception
    LEARNED = "learned line"  # eager: a lazy value was rejected on this line before
    UNSEEN = "no source"  # eager: code that could not be rewritten would observe it


def _bounded(cache: dict[Any, Any]) -> None:
    if len(cache) > _CACHE_LIMIT:
        cache.clear()


def register_try_lines(code: CodeType, lines: frozenset[int]) -> None:
    """Declare the lines of rewritten ``code`` that lie inside ``try``/``with`` blocks."""
    _try_lines[code] = lines


def is_internal(code: CodeType) -> bool:
    """Whether ``code`` belongs to Ember itself."""
    known = _internal.get(code)
    if known is None:
        _bounded(_internal)
        known = _internal[code] = code.co_filename.startswith(_EMBER_DIR)
    return known


def _is_library(code: CodeType) -> bool:
    known = _library.get(code)
    if known is None:
        _bounded(_library)
        name = code.co_filename
        known = _library[code] = (
            is_internal(code) or name.startswith(_LIBRARY_DIRS) or name.startswith("<frozen")
        )
    return known


def _in_try_block(frame: FrameType) -> bool:
    code = frame.f_code
    lines = _try_lines.get(code)
    if lines is not None:
        return frame.f_lineno in lines
    key = (code, frame.f_lasti)
    known = _in_try.get(key)
    if known is None:
        lasti = frame.f_lasti
        _bounded(_in_try)
        known = _in_try[key] = any(
            start <= lasti < end for start, end in versions.handler_ranges(code)
        )
    return known


def location_of(frame: FrameType) -> SourceLocation:
    """The ``SourceLocation`` of ``frame``'s current line (cached)."""
    code = frame.f_code
    key = (code, frame.f_lineno)
    location = _locations.get(key)
    if location is None:
        _bounded(_locations)
        location = _locations[key] = SourceLocation(code.co_filename, key[1], code.co_name)
    return location


def inspect_site(
    boundary: FrameType | None, learned: LearnedBarriers | None
) -> tuple[SourceLocation | None, CallMode]:
    """Where user code made the current call, and whether it must run eagerly.

    Walks from the caller up to ``boundary`` (the frame that entered the jitted
    function). Eager when any user frame on the way is inside a ``try``/``with``
    block, or on a learned line (ops called there, even inside a comprehension or a
    lambda on that line, run in program order).
    """
    frame: FrameType | None = sys._getframe(2)
    location: SourceLocation | None = None
    while frame is not None and frame is not boundary:
        code = frame.f_code
        if is_internal(code):
            frame = frame.f_back
            continue
        if location is None:
            location = location_of(frame)
        if _in_try_block(frame):
            return location, CallMode.TRY
        if code not in _try_lines and not _is_library(code) and versions.observing(code):
            return location, CallMode.UNSEEN
        if learned is not None and learned.covers(code, frame.f_lineno):
            return location, CallMode.LEARNED
        frame = frame.f_back
    return location, CallMode.LAZY


class RejectionSite:
    """The user line where a traced run raised: a candidate learned barrier."""

    __slots__ = ("code", "first_line", "frame", "last_line", "location")

    def __init__(self, frame: FrameType, first_line: int, last_line: int) -> None:
        self.frame = frame
        self.code = frame.f_code
        self.first_line = first_line
        self.last_line = last_line
        self.location = SourceLocation(self.code.co_filename, first_line, self.code.co_name)


def rejection_site(error: BaseException, boundary: FrameType | None) -> RejectionSite | None:
    """The deepest user frame of ``error``'s traceback, unless it raised on purpose.

    Returns ``None`` when the exception came from a ``raise`` statement in user code
    (then it is the program's own error, not a lazy value rejected by C code).
    """
    entries: list[tuple[FrameType, int, int]] = []
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    user = [e for e in entries if not _is_library(e[0].f_code) and e[0] is not boundary]
    if not user:
        return None
    frame, lasti, lineno = user[-1]
    code = frame.f_code
    instruction = versions.instruction_at(code, lasti)
    if entries[-1][0] is frame and instruction is not None and instruction.opname in (
        "RAISE_VARARGS", "RERAISE"
    ):
        return None
    first, last = lineno, lineno
    if instruction is not None and instruction.positions is not None:
        positions = instruction.positions
        first = positions.lineno or lineno
        last = positions.end_lineno or first
    return RejectionSite(frame, first, last)
