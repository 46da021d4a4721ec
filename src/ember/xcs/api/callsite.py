"""The glue's line in the traceback of an op's exception, as plain Python shows it.

In plain Python an op that raises does so under the frame of the line that called it:
the traceback runs from the caller through that line into the op's body. Under ``@jit``
the op ran on a worker while the glue went on, and its exception is raised at the
jit boundary, so that line's frame is gone. ``at_call_site`` puts an entry for it back
in front of the op body's frames: the file, line and function of the call, which
``traceback``, ``logging.exception`` and error reporters show and group by. Its
frame is a stand-in made for the purpose (it holds none of the glue's variables).

Example:
    >>> from ember.xcs.ir.graph import SourceLocation
    >>> error = KeyError("no user 7")
    >>> at_call_site(error, SourceLocation(__file__, 1, "handle"))
    >>> error.__traceback__.tb_frame.f_code.co_name, error.__traceback__.tb_lineno
    ('handle', 1)
"""

from __future__ import annotations

import linecache
import re
import threading
import types

from ember.xcs.engine.task import Task
from ember.xcs.errors import add_origin_note
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.frames import is_internal

__all__ = ["at_call_site", "with_note"]


def with_note(error: BaseException, task: Task) -> BaseException:
    """``error`` with a note naming the node, and without the engine's own frames."""
    root = task.root_failure
    where = f" called at {root.location}" if root.location else ""
    note = f"[ember.xcs] raised by node #{root.id} {root.name}{where}"
    add_origin_note(error, note)
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None and is_internal(tb.tb_frame.f_code):
        tb = tb.tb_next  # the worker's scheduler frames say nothing about the user's bug
    if tb is not None and not is_internal(tb.tb_frame.f_code):
        error.with_traceback(tb)  # not through __setattr__, which a frozen class refuses
    if root.location is not None:  # the glue's line that called it, as in plain Python
        at_call_site(error, root.location)
    return error


class _Marker(Exception):
    """Raised by the stand-in frame to capture its traceback entry."""


def at_call_site(error: BaseException, location: SourceLocation) -> None:
    """Put a traceback entry for ``location`` in front of ``error``'s traceback, unless
    its traceback already passes through that line."""
    tb = error.__traceback__
    walk = tb
    while walk is not None:
        if walk.tb_lineno == location.lineno \
                and walk.tb_frame.f_code.co_filename == location.filename:
            return
        walk = walk.tb_next
    entry = _entries.get(location)
    if entry is None:
        entry = _entry_on_a_thread(location)
        if len(_entries) >= _ENTRIES:
            _entries.clear()
        _entries[location] = entry
    if entry is not None:
        error.with_traceback(types.TracebackType(tb, entry.tb_frame, entry.tb_lasti,
                                                 entry.tb_lineno))


# Entries made, by location: a failing line in a loop makes its entry once. The frame
# of an entry refers to no call's objects (see _entry_on_a_thread).
_ENTRIES = 256
_entries: dict[SourceLocation, types.TracebackType | None] = {}


def _entry_on_a_thread(location: SourceLocation) -> types.TracebackType | None:
    """``_entry(location)``, made on a thread of its own: a finished frame keeps the
    frames it was called from, and the call's frames (which hold its tasks, arguments
    and values) must not outlive the call through an exception's traceback."""
    made: list[types.TracebackType | None] = [None]
    thread = threading.Thread(target=lambda: made.__setitem__(0, _entry(location)),
                              name="ember-xcs-traceback", daemon=True)
    thread.start()
    thread.join()
    return made[0]


def _entry(location: SourceLocation) -> types.TracebackType | None:
    """A traceback entry at ``location``: a statement compiled at that file and line,
    in a code object named after its function, spanning the line's text (so that no
    caret marks a part of it). Inside a function, the code is a function's whose first
    line is the real one's ``def`` (or first decorator): IPython shows a cell's frame
    from ``inspect.getsourcelines``, which reads the block from there."""
    lines = linecache.getlines(location.filename)
    if not 0 < location.lineno <= len(lines):
        return None  # no such line: no entry rather than a wrong one
    line = lines[location.lineno - 1]
    stripped = line.strip()
    indent = len(line) - len(line.lstrip())
    body = "raise _E"
    if len(stripped) > len("raise (_E)"):
        body = "raise (" + " " * (len(stripped) - len("raise (_E)")) + "_E)"
    first = _block_start(lines, location.lineno, indent, location.function)
    if first is not None:  # the body of the function defined (decorated) at ``first``
        source = "\n" * (first - 1) + "def _f():\n" + "\n" * (location.lineno - first - 1) \
            + " " * indent + body
    elif indent and location.lineno > 1:  # an indented line: a block header above it
        source = "\n" * (location.lineno - 2) + "if 1:\n" + " " * indent + body
    elif location.function != "<module>":  # a lambda's, a genexpr's: code from that line
        source = body
    else:
        source = "\n" * (location.lineno - 1) + body
    name = location.function
    try:
        code = compile(source, location.filename, "exec")
        if source is body:
            code = code.replace(co_firstlineno=location.lineno)
        if first is None:
            exec(code.replace(co_name=name, co_qualname=name), {"_E": _Marker})
        else:
            inner = next(c for c in code.co_consts if isinstance(c, types.CodeType))
            types.FunctionType(inner.replace(co_name=name, co_qualname=name), {"_E": _Marker})()
    except _Marker as marker:
        tb = marker.__traceback__
        return tb.tb_next if tb is not None else None
    except Exception:  # an odd file name or line: no entry rather than a wrong one
        return None
    return None


def _block_start(lines: list[str], lineno: int, indent: int, function: str) -> int | None:
    """The first line (its first decorator, else its ``def``) of the function named
    ``function`` whose body holds line ``lineno`` of ``lines`` (indented by ``indent``),
    or ``None`` (module level, or no such ``def`` found above it)."""
    if function == "<module>":
        return None
    for number in range(lineno - 1, 0, -1):
        text = lines[number - 1]
        stripped = text.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(text) - len(stripped)
        if depth >= indent:
            continue
        found = _DEF.match(stripped)
        if found is None:
            if depth == 0:
                return None  # a block of the module's
            indent = depth  # a block header inside the function: look further up
            continue
        if not function.startswith("<") and found.group(2) != function:
            return None  # (a comprehension's or lambda's: the def around it)
        while number > 1 and lines[number - 2].lstrip().startswith("@") \
                and len(lines[number - 2]) - len(lines[number - 2].lstrip()) == depth:
            number -= 1
        return number
    return None


_DEF = re.compile(r"(async\s+)?def\s+(\w+)")
