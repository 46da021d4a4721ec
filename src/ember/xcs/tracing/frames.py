"""Reading the caller's frames: where an op was called, and how it must run.

An op (or a lifted operation) called from user code runs lazily unless plain Python
could observe its exception or its value right there: inside a ``try`` or ``with``
block, in a ``case`` pattern, or on a line where XCS learned that a lazy value is
rejected. For rewritten code those lines come from its syntax tree (exact); for other
code, the ``try`` blocks come from the exception table (``versions.handler_ranges``).
Frames of Ember itself are skipped, so locations always point at user code.
"""

from __future__ import annotations

import enum
import os
import sys
import sysconfig
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING

from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing import versions
from ember.xcs.tracing.codemap import CodeMap
from ember.xcs.tracing.protocols import GENERATORS, Entry, entry_of, reads_with_fallback

if TYPE_CHECKING:
    from ember.xcs.tracing.learned import LearnedBarriers

__all__ = [
    "CallMode",
    "RejectionSite",
    "inspect_site",
    "is_internal",
    "is_library_frame",
    "is_user_code",
    "location_of",
    "mark_user_file",
    "register_eager_lines",
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
_PROBE, _GENERATOR, _SPECIAL, _CALLBACK = (Entry.PROBE, Entry.GENERATOR, Entry.SPECIAL,
                                            Entry.CALLBACK)  # (fast to load)


class CallMode(enum.Enum):
    """How an op or lifted operation must run at a call site (value: the reason)."""

    LAZY = "lazy"
    TRY = "try/with"  # eager: an enclosing try/with block could observe its exception
    # eager: a case pattern reads it at once, and a sequence or mapping pattern decides
    # by its type, which a lazy value cannot give
    MATCH = "match pattern"
    # eager: called inside a special method whose result or StopIteration Python's C code
    # acts on at once (``__str__`` must give a str), or inside the ``__getitem__`` an
    # iteration calls, which ends on its IndexError (tracing.protocols)
    SPECIAL = "special method"
    # eager: an AttributeError there is caught (hasattr, getattr with a default, a
    # property of a class with ``__getattr__``)
    PROBE = "attribute probe"
    LEARNED = "learned line"  # eager: a lazy value was rejected on this line before
    UNSEEN = "no source"  # eager: code that could not be rewritten would observe it
    # eager: run by a library function that uses what it returns at once (re.sub's repl,
    # json.dumps' default, the function behind functools.cache: protocols.calling_back)
    CALLBACK = "library callback"


_LAZY = CallMode.LAZY  # returned per op call (an enum member read through its class is slow)


class _Facts:
    """What the site inspection needs to know of one code object, computed once.

    ``sites`` maps an instruction offset to its location, the ``CallMode`` its line
    asks for (``TRY``, ``MATCH``; ``None``: none) and what the instruction there does
    while other code runs under it (``versions.calling``).
    """

    __slots__ = ("code", "eager_lines", "entry", "generator", "internal", "library", "owners",
                 "sites", "unseen")

    def __init__(self, code: CodeType) -> None:
        self.code = code
        name = code.co_filename
        self.internal = name.startswith(_EMBER_DIR)
        self.library = self.internal or name.startswith(_LIBRARY_DIRS) \
            or name.startswith("<frozen")
        self.eager_lines = _eager_lines.get(code)
        self.entry = entry_of(code, self.internal)
        self.generator = GENERATORS.get(code.co_flags & 0x220)  # PEP 479 applies
        self.owners: dict[type, bool] = {}  # run by an attribute read: see reads_with_fallback
        self.unseen: bool | None = None  # computed on first need (reads the bytecode)
        self.sites: dict[int, tuple[SourceLocation, CallMode | None, str | None]] = {}

    def site(self, frame: FrameType, lasti: int
             ) -> tuple[SourceLocation, CallMode | None, str | None]:
        """The location of offset ``lasti``, the eager mode its line asks for, and what
        its instruction does while other code runs (``versions.calling``)."""
        code = self.code
        line = frame.f_lineno
        lines = self.eager_lines
        mode: CallMode | None
        if lines is not None:
            mode = lines.get(line)
        else:
            in_try = any(start <= lasti < end for start, end in versions.handler_ranges(code))
            mode = CallMode.TRY if in_try else None
        site = self.sites[lasti] = (SourceLocation(code.co_filename, line, code.co_name), mode,
                                    versions.calling(code, lasti))
        return site

    def is_unseen(self) -> bool:
        """Whether this is user code without a rewrite that would observe a lazy value."""
        unseen = self.unseen
        if unseen is None:
            unseen = self.unseen = (self.eager_lines is None and not self.library
                                    and versions.observing(self.code) is not None)
        return unseen


_facts: CodeMap[_Facts] = CodeMap(_CACHE_LIMIT)
_eager_lines: CodeMap[dict[int, CallMode]] = CodeMap()  # rewritten code: see register_eager_lines


_facts_by_id = _facts.entries


def _facts_of(code: CodeType) -> _Facts:
    facts = _facts.get(code)
    if facts is None:
        facts = _facts[code] = _Facts(code)
    return facts


def register_eager_lines(code: CodeType, lines: dict[int, CallMode]) -> None:
    """Declare the lines of rewritten ``code`` where ops run at their call, and why
    (``TRY``: inside a ``try``/``with`` block; ``MATCH``: a ``case`` pattern)."""
    _eager_lines[code] = lines
    facts = _facts.get(code)
    if facts is not None:
        facts.eager_lines, facts.unseen = lines, None
        facts.sites.clear()


def is_internal(code: CodeType) -> bool:
    """Whether ``code`` belongs to Ember itself."""
    return _facts_of(code).internal


def is_library_frame(frame: FrameType) -> bool:
    """Whether ``frame`` runs a library's code (the standard library, site-packages),
    not the user's or Ember's own."""
    facts = _facts_of(frame.f_code)
    return facts.library and not facts.internal


_user_files: dict[str, bool] = {}


def mark_user_file(filename: str) -> None:
    """Count ``filename`` as the user's, wherever it is (the module of a jitted function
    installed in site-packages: its helpers and classes are the user's too)."""
    _user_files[filename] = True


def is_user_code(filename: str) -> bool:
    """Whether code from ``filename`` is the user's (not Ember, stdlib or site-packages)."""
    known = _user_files.get(filename)
    if known is None:
        if filename.startswith("<") and filename not in ("<stdin>", "<string>"):
            # "<frozen ...>" is the standard library; "<ipython-input-...>", "<doctest ...>"
            # and other interactive sources are the user's.
            known = not filename.startswith("<frozen")
        else:
            path = os.path.abspath(filename)
            known = not (path.startswith(_EMBER_DIR) or path.startswith(_LIBRARY_DIRS))
        if len(_user_files) > _CACHE_LIMIT:
            _user_files.clear()
        _user_files[filename] = known
    return known


def _is_library(code: CodeType) -> bool:
    return _facts_of(code).library


def location_of(frame: FrameType) -> SourceLocation:
    """The ``SourceLocation`` of ``frame``'s current line (cached)."""
    facts = _facts_of(frame.f_code)
    lasti = frame.f_lasti
    site = facts.sites.get(lasti)
    return (site or facts.site(frame, lasti))[0]


def inspect_site(
    boundary: FrameType | None, learned: LearnedBarriers | None
) -> tuple[SourceLocation | None, CallMode, str | None]:
    """Where user code made the current call, whether it must run eagerly, and what
    plain Python makes of a ``StopIteration`` raised there (``protocols.stop_becomes``).

    Walks from the caller up to ``boundary`` (the frame that entered the jitted
    function). Eager when any user frame on the way is inside a ``try``/``with``
    block, in a ``case`` pattern (a property it reads calling the op), in a special
    method the interpreter runs (``__str__``, ``__next__``, the ``__getitem__`` of an
    iteration), where an ``AttributeError`` is caught (``hasattr``, a property of a class
    with ``__getattr__``: see ``tracing.protocols``), in code a library function calls
    and takes the result of at once (``protocols.calling_back``), or on a learned line (ops called
    there, even inside a comprehension or a lambda on that line, run in program order).
    """
    frame: FrameType | None = sys._getframe(2)
    location: SourceLocation | None = None
    if learned is not None and not learned.active:
        learned = None
    facts_map = _facts_by_id
    child: FrameType | None = None  # the frame walked before, if no Ember frame lies between
    child_facts: _Facts = None  # type: ignore[assignment]  # (set with child)
    stop: str | None = None  # where a StopIteration from here would be met (stop_becomes)
    open_stop = True
    while frame is not None and frame is not boundary:
        code = frame.f_code
        known = facts_map.get(id(code))
        facts = known[1] if known is not None and known[0] is code else _facts_of(code)
        if facts.internal:
            if facts.entry is not None:
                if facts.entry is _PROBE:
                    return _user_line(location, frame, boundary), CallMode.PROBE, None
                if facts.entry is _CALLBACK:
                    return _user_line(location, frame, boundary), CallMode.CALLBACK, None
                if open_stop:  # Entry.MAPPED
                    stop, open_stop = "iteration", False
            child = None
            frame = frame.f_back
            continue
        lasti = frame.f_lasti
        site = facts.sites.get(lasti)
        if site is None:
            site = facts.site(frame, lasti)
        if location is None and not facts.library:
            location = site[0]  # the user's line, not the library code it called
        calling = site[2]
        if calling is not None:  # the call below runs for an attribute, x[i], a next item
            if calling == "attribute" and child is not None \
                    and reads_with_fallback(child, child_facts.owners):
                return location, CallMode.PROBE, None
            if calling == "iteration" and open_stop:  # the loop taking its item ends there
                stop, open_stop = "iteration", False
        if site[1] is not None:
            return _user_line(location, frame, boundary), site[1], None
        if facts.unseen is not False and facts.is_unseen():
            return location, CallMode.UNSEEN, None
        if learned is not None and learned.covers(code, site[0].lineno):
            return _user_line(location, frame, boundary), CallMode.LEARNED, None
        entry = facts.entry
        if entry is not None and frame.f_back is not boundary:  # (the jitted function's own)
            if entry is _GENERATOR:
                if open_stop:
                    stop, open_stop = facts.generator, False  # PEP 479
            elif entry is _SPECIAL or _iterating(frame.f_back):  # (or Entry.ITEM)
                return _user_line(location, frame, boundary), CallMode.SPECIAL, None
        child, child_facts = frame, facts
        frame = frame.f_back
    return location or _first_outside(boundary), _LAZY, stop


def _iterating(caller: FrameType | None) -> bool:
    """Whether the ``__getitem__`` that ``caller`` called runs for an iteration over its
    object (which ends on its ``IndexError``), not for a subscript (``x[i]``, or Ember
    reading an item of an op result)."""
    if caller is None:
        return False
    facts = _facts_of(caller.f_code)
    if facts.internal:
        return False
    site = facts.sites.get(caller.f_lasti) or facts.site(caller, caller.f_lasti)
    return site[2] != "subscript"


def _user_line(location: SourceLocation | None, frame: FrameType,
               boundary: FrameType | None) -> SourceLocation | None:
    """``location``, or, when the walk stops in library code before meeting a user frame
    (pathlib's ``__truediv__`` reading a lazy value), the line of the first user frame
    above: the user's call that led there, which stats and ``explain`` must name."""
    if location is not None:
        return location
    walk: FrameType | None = frame
    while walk is not None and walk is not boundary:
        if not _facts_of(walk.f_code).library:
            return location_of(walk)
        walk = walk.f_back
    return _first_outside(boundary, 3)


def _first_outside(boundary: FrameType | None, depth: int = 2) -> SourceLocation | None:
    """The line of the first frame outside Ember (below ``boundary``): where the call
    was made when no user frame is on the way (library code only). ``depth``: frames
    between this one and the one that asked for the site (``inspect_site``'s caller)."""
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None and frame is not boundary:
        if not _facts_of(frame.f_code).internal:
            return location_of(frame)
        frame = frame.f_back
    return None


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
