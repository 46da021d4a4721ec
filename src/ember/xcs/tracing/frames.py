"""Reading the caller's frames: where an op was called, and how it must run.

An op (or a lifted operation) called from user code runs lazily unless plain Python
could observe its exception right there: inside a ``try`` or ``with`` block (found in
the frame's exception table, cached per (code, instruction)), or on a line where XCS
has learned that a lazy value is rejected. Frames of Ember itself are skipped, so
locations always point at user code.
"""

from __future__ import annotations

import dis
import enum
import os
import sys
import sysconfig
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING

import ember
from ember.xcs.ir.graph import SourceLocation

if TYPE_CHECKING:
    from ember.xcs.tracing.learned import LearnedBarriers

__all__ = [
    "CallMode",
    "RejectionSite",
    "inspect_site",
    "is_internal",
    "location_of",
    "names_on_lines",
    "rejection_site",
]

_EMBER_DIR = os.path.dirname(os.path.abspath(ember.__file__)) + os.sep
_LIBRARY_DIRS = tuple(
    {
        os.path.abspath(path) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    }
)
_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>"})
_CACHE_LIMIT = 50_000

_internal: dict[CodeType, bool] = {}
_library: dict[CodeType, bool] = {}
_handlers: dict[CodeType, tuple[tuple[int, int], ...]] = {}
_in_try: dict[tuple[CodeType, int], bool] = {}
_locations: dict[tuple[CodeType, int], SourceLocation] = {}


class CallMode(enum.Enum):
    """How an op or lifted operation must run at a given call site (value: the reason)."""

    LAZY = "lazy"
    TRY = "try/with"  # eager: an enclosing try/with block could observe its exception
    LEARNED = "learned line"  # eager: a lazy value was rejected on this line before


def _bounded(cache: dict[object, object]) -> None:
    if len(cache) > _CACHE_LIMIT:
        cache.clear()


def is_internal(code: CodeType) -> bool:
    """Whether ``code`` belongs to Ember itself."""
    known = _internal.get(code)
    if known is None:
        _bounded(_internal)  # type: ignore[arg-type]
        known = _internal[code] = code.co_filename.startswith(_EMBER_DIR)
    return known


def _is_library(code: CodeType) -> bool:
    known = _library.get(code)
    if known is None:
        _bounded(_library)  # type: ignore[arg-type]
        name = code.co_filename
        known = _library[code] = (
            is_internal(code) or name.startswith(_LIBRARY_DIRS) or name.startswith("<frozen")
        )
    return known


def _covered_by_handler(code: CodeType, lasti: int) -> bool:
    key = (code, lasti)
    known = _in_try.get(key)
    if known is None:
        ranges = _handlers.get(code)
        if ranges is None:
            _bounded(_handlers)  # type: ignore[arg-type]
            entries = dis._parse_exception_table(code)  # type: ignore[attr-defined]
            ranges = _handlers[code] = tuple((e.start, e.end) for e in entries)
        _bounded(_in_try)  # type: ignore[arg-type]
        known = _in_try[key] = any(start <= lasti < end for start, end in ranges)
    return known


def location_of(frame: FrameType) -> SourceLocation:
    """The ``SourceLocation`` of ``frame``'s current line (cached)."""
    code = frame.f_code
    key = (code, frame.f_lineno)
    location = _locations.get(key)
    if location is None:
        _bounded(_locations)  # type: ignore[arg-type]
        location = _locations[key] = SourceLocation(code.co_filename, key[1], code.co_name)
    return location


def inspect_site(
    boundary: FrameType | None, learned: LearnedBarriers | None
) -> tuple[SourceLocation | None, CallMode]:
    """Where user code made the current call, and whether it must run eagerly.

    Walks from the caller up to ``boundary`` (the frame that entered the jitted
    function). Eager when any user frame on the way is inside a ``try``/``with``
    block, or when the call is on a learned barrier line (a list/dict comprehension
    directly on that line stays lazy: its result is materialised when it returns).
    """
    frame = sys._getframe(2)
    location: SourceLocation | None = None
    only_comprehensions = True
    first = True
    while frame is not None and frame is not boundary:
        code = frame.f_code
        if is_internal(code):
            frame = frame.f_back  # type: ignore[assignment]
            continue
        if location is None:
            location = location_of(frame)
        if _covered_by_handler(code, frame.f_lasti):
            return location, CallMode.TRY
        if learned is not None and learned.covers(code, frame.f_lineno) and (
            first or not only_comprehensions
        ):
            return location, CallMode.LEARNED
        if code.co_name not in _COMPREHENSIONS:
            only_comprehensions = False
        first = False
        frame = frame.f_back  # type: ignore[assignment]
    return location, CallMode.LAZY


_LOAD_NAME_OPS = frozenset({"LOAD_FAST", "LOAD_DEREF", "LOAD_NAME", "LOAD_CLOSURE", "LOAD_GLOBAL"})
_names_cache: dict[tuple[CodeType, int, int], tuple[str, ...]] = {}


def names_on_lines(code: CodeType, first: int, last: int) -> tuple[str, ...]:
    """The variable names that ``code`` loads on lines ``first..last``."""
    key = (code, first, last)
    names = _names_cache.get(key)
    if names is None:
        found: dict[str, None] = {}
        for instruction in dis.get_instructions(code):
            positions = instruction.positions
            line = positions.lineno if positions is not None else None
            if line is not None and first <= line <= last and instruction.opname in _LOAD_NAME_OPS:
                found.setdefault(str(instruction.argval))
        _bounded(_names_cache)  # type: ignore[arg-type]
        names = _names_cache[key] = tuple(found)
    return names


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
    instruction = _instruction_at(code, lasti)
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


def _instruction_at(code: CodeType, offset: int) -> dis.Instruction | None:
    for instruction in dis.get_instructions(code):
        if instruction.offset == offset:
            return instruction
    return None
