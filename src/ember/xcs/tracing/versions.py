"""Everything XCS knows about particular CPython versions (3.11, 3.12, 3.13), in one place.

- **Exception tables** (``handler_ranges``): which instructions a ``try``/``with``
  handler covers. CPython 3.12 added entries that are not user ``try`` blocks: the
  clean-up of list comprehensions inlined into their function (PEP 709, handler
  starting with ``SWAP``), the wrapper that turns ``StopIteration`` into
  ``RuntimeError`` around generator and coroutine bodies (``CALL_INTRINSIC_1``), and
  the clean-up of ``await``/``yield from`` (``CLEANUP_THROW``). They are left out.
- **Superinstructions** (``loaded_names``): 3.13 loads two locals in one instruction
  (``LOAD_FAST_LOAD_FAST``), whose argument is a pair of names.
- **Where a call came from** (``calling``): the instruction of a frame that is running
  other code (a property read, ``x[i]``, a ``for`` loop's next item). 3.11 reads attributes
  for a method call with ``LOAD_METHOD``, 3.12 reads ``super()`` attributes with
  ``LOAD_SUPER_ATTR``; 3.11 and 3.12 report the offset of a Python call made by a
  specialised instruction inside that instruction's inline cache.
- **Operators** (``in_place_operator``, ``comparison``): ``x += y`` is ``BINARY_OP``
  with an argument whose name ends in ``=``; a comparison is ``COMPARE_OP``, whose
  argument 3.13 writes ``bool(<)`` when only its truth is used.
- **Line events** (``watch_lines``): ``sys.settrace`` on 3.11, chained to a trace
  function the user (a debugger, coverage) already has; ``sys.monitoring`` on 3.12+,
  with a tool id of our own, so the user's tools see every event as before.

Nothing else in XCS reads bytecode or installs tracers.
"""

from __future__ import annotations

import bisect
import dis
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, cast

from ember.xcs.tracing.codemap import CodeMap

__all__ = ["MONITORING", "VARIABLE_LOADS", "calling", "comparison", "handler_ranges",
           "in_place_operator", "instruction_at", "loaded_names", "observing", "set_local",
           "watch_lines"]

MONITORING = sys.version_info >= (3, 12)  # sys.monitoring instead of sys.settrace
_NOT_USER_HANDLERS = frozenset({"SWAP", "CALL_INTRINSIC_1", "CLEANUP_THROW"})
# The instructions that read a variable (3.13's superinstructions read two at once).
VARIABLE_LOADS = frozenset({"LOAD_FAST", "LOAD_DEREF", "LOAD_NAME", "LOAD_CLOSURE",
                            "LOAD_GLOBAL", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR",
                            "LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW",
                            "LOAD_FAST_BORROW_LOAD_FAST_BORROW"})
_OBSERVING_OPS = {"IS_OP": "`is`", "MATCH_MAPPING": "match", "MATCH_SEQUENCE": "match",
                  "MATCH_CLASS": "match", "MATCH_KEYS": "match"}
_OBSERVING_CALLS = frozenset({"type", "id", "callable", "hasattr", "getattr", "vars"})
_FORMAT_OPS = frozenset({6, 19})  # BINARY_OP arguments of % and %=
_CACHE_LIMIT = 20_000
_observing: CodeMap[str | None] = CodeMap(_CACHE_LIMIT)
_ranges: CodeMap[tuple[tuple[int, int], ...]] = CodeMap(_CACHE_LIMIT)
_names: CodeMap[dict[tuple[int, int], tuple[str, ...]]] = CodeMap(_CACHE_LIMIT)
_starts: CodeMap[tuple[list[int], list[str], list[str]]] = CodeMap(_CACHE_LIMIT)
_CALLING = {"LOAD_ATTR": "attribute", "LOAD_METHOD": "attribute",
            "LOAD_SUPER_ATTR": "attribute", "BINARY_SUBSCR": "subscript",
            "BINARY_SLICE": "subscript", "FOR_ITER": "iteration"}


def handler_ranges(code: CodeType) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` instruction offsets covered by user ``try``/``with`` handlers."""
    known = _ranges.get(code)
    if known is None:
        # The one reader of exception tables CPython ships (private, but on 3.11-3.13).
        entries = dis._parse_exception_table(code)  # type: ignore[attr-defined]
        starts = {i.offset: i.opname for i in dis.get_instructions(code)} if entries else {}
        known = tuple(
            (entry.start, entry.end) for entry in entries
            if starts.get(entry.target) not in _NOT_USER_HANDLERS
        )
        _ranges[code] = known
    return known


def observing(code: CodeType) -> str | None:
    """Why code that cannot be rewritten would see through a lazy value, if it would.

    Looks at ``code`` and the code objects nested in it (comprehensions, lambdas):
    ``is`` (``IS_OP``, and the ``is None`` jumps: ``POP_JUMP_FORWARD_IF_NONE`` and kin
    on 3.11, ``POP_JUMP_IF_NONE`` on 3.12+), structural ``match``, calls of ``type``,
    ``id``, ``callable``, ``hasattr``, ``getattr``, ``vars``, and ``%`` formatting of a
    string literal. Ops called from such code run in program order, as plain Python
    runs them.
    """
    if code in _observing:
        return _observing.get(code)
    reason: str | None = None
    previous: list[dis.Instruction] = []
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name in _OBSERVING_OPS:
            reason = _OBSERVING_OPS[name]
        elif name.endswith(("IF_NONE", "IF_NOT_NONE")):  # `x is None` jumps, every version
            reason = "`is None`"
        elif name in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval in _OBSERVING_CALLS:
            reason = f"{instruction.argval}()"
        elif (name == "BINARY_OP" and instruction.arg in _FORMAT_OPS and len(previous) >= 2
              and previous[-2].opname == "LOAD_CONST" and isinstance(previous[-2].argval, str)):
            reason = "% formatting"
        if reason is not None:
            break
        previous = [*previous[-1:], instruction]
    if reason is None:
        for const in code.co_consts:
            if isinstance(const, CodeType):
                reason = observing(const)
                if reason is not None:
                    break
    _observing[code] = reason
    return reason


def instruction_at(code: CodeType, offset: int) -> dis.Instruction | None:
    """The instruction of ``code`` at byte ``offset``."""
    for instruction in dis.get_instructions(code):
        if instruction.offset == offset:
            return instruction
    return None


def _running(code: CodeType, offset: int) -> tuple[str, str]:
    """The name and argument text of the instruction of ``code`` running at ``offset`` (a
    frame's ``f_lasti``, which may lie in the instruction's inline cache), cached."""
    starts = _starts.get(code)
    if starts is None:
        instructions = list(dis.get_instructions(code))
        starts = _starts[code] = ([i.offset for i in instructions],
                                  [i.opname for i in instructions],
                                  [i.argrepr for i in instructions])
    index = bisect.bisect_right(starts[0], offset) - 1
    return (starts[1][index], starts[2][index]) if index >= 0 else ("", "")


def in_place_operator(frame: FrameType) -> bool:
    """Whether ``frame`` is running an augmented assignment's operator (``x += y``)."""
    name, argument = _running(frame.f_code, frame.f_lasti)
    return name == "BINARY_OP" and argument.endswith("=")


def comparison(frame: FrameType) -> str | None:
    """The operator (``"<"``) of the comparison ``frame`` is running, else ``None``
    (3.13 writes ``bool(<)`` for one whose result is only tested)."""
    name, argument = _running(frame.f_code, frame.f_lasti)
    if name != "COMPARE_OP":
        return None
    return argument.removeprefix("bool(").removesuffix(")")


def calling(code: CodeType, offset: int) -> str | None:
    """What the instruction of ``code`` running at ``offset`` (a frame's ``f_lasti``)
    does while other code runs under it: ``"attribute"`` (an attribute read: a property,
    ``__getattr__``), ``"subscript"`` (``x[i]``: ``__getitem__``), ``"iteration"`` (a
    ``for`` loop or comprehension taking its next item: ``__next__``), else ``None`` (a
    call, or code that calls no other code)."""
    return _CALLING.get(_running(code, offset)[0])


def loaded_names(code: CodeType, first: int, last: int) -> tuple[str, ...]:
    """The variable names ``code`` loads on lines ``first`` to ``last`` (cached)."""
    by_lines = _names.get(code)
    if by_lines is None:
        by_lines = _names[code] = {}
    names = by_lines.get((first, last))
    if names is None:
        found: dict[str, None] = {}
        for instruction in dis.get_instructions(code):
            positions = instruction.positions
            line = positions.lineno if positions is not None else None
            if line is None or not first <= line <= last \
                    or instruction.opname not in VARIABLE_LOADS:
                continue
            value = instruction.argval
            for name in value if isinstance(value, tuple) else (value,):
                found.setdefault(str(name))
        names = by_lines[first, last] = tuple(found)
    return names


def set_local(frame: FrameType, name: str, value: Any) -> None:
    """Rebind local variable ``name`` of a running ``frame`` (from a line event).

    3.13 writes through ``frame.f_locals`` (PEP 667); 3.11 copies ``f_locals`` back to
    the frame after a ``sys.settrace`` callback returns; 3.12's ``sys.monitoring``
    callbacks need the copy made explicitly.
    """
    frame.f_locals[name] = value
    if MONITORING and sys.version_info < (3, 13):
        import ctypes

        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))


LineHandler = Callable[[FrameType], None]


def watch_lines(wanted: Callable[[CodeType], bool], on_line: LineHandler) -> Callable[[], None]:
    """Call ``on_line(frame)`` before each line of code objects ``wanted`` accepts.

    Only in the calling thread; returns the function that stops watching. Whatever
    tracer or monitoring tool the user has keeps receiving its events.
    """
    if MONITORING:
        return _watch_with_monitoring(wanted, on_line)
    return _watch_with_settrace(wanted, on_line)


def _watch_with_settrace(wanted: Callable[[CodeType], bool],
                         on_line: LineHandler) -> Callable[[], None]:
    previous: Any = sys.gettrace()

    def local(user_local: Any) -> Any:
        def tracer(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal user_local
            if event == "line":
                on_line(frame)
            if user_local is not None:
                user_local = user_local(frame, event, arg)
            return tracer
        return tracer

    def global_tracer(frame: FrameType, event: str, arg: Any) -> Any:
        user_local = previous(frame, event, arg) if previous is not None else None
        if wanted(frame.f_code):
            return local(user_local)
        return user_local

    sys.settrace(cast(Any, global_tracer))

    def stop() -> None:
        sys.settrace(previous)

    return stop


_monitoring_lock = threading.Lock()
_tool_id: int | None = None
_watchers: dict[int, tuple[Callable[[CodeType], bool], LineHandler]] = {}


def _watch_with_monitoring(wanted: Callable[[CodeType], bool],
                           on_line: LineHandler) -> Callable[[], None]:
    monitoring = sys.monitoring  # type: ignore[attr-defined]  # 3.12+, typed for 3.11
    thread = threading.get_ident()
    with _monitoring_lock:
        tool = _ensure_tool(monitoring)
        _watchers[thread] = (wanted, on_line)
        monitoring.set_events(tool, monitoring.events.PY_START)

    def stop() -> None:
        with _monitoring_lock:
            _watchers.pop(thread, None)
            if not _watchers and _tool_id is not None:
                monitoring.set_events(_tool_id, 0)

    return stop


def _ensure_tool(monitoring: Any) -> int:
    global _tool_id
    if _tool_id is not None:
        return _tool_id
    for candidate in (4, 3, 5):  # ids not reserved for debuggers, coverage, profilers
        if monitoring.get_tool(candidate) is None:
            monitoring.use_tool_id(candidate, "ember-xcs")
            _tool_id = candidate
            break
    else:
        raise RuntimeError("no free sys.monitoring tool id for ember.xcs learned barriers")
    events = monitoring.events

    def on_start(code: CodeType, offset: int) -> Any:
        watcher = _watchers.get(threading.get_ident())
        if watcher is not None and watcher[0](code):
            monitoring.set_local_events(_tool_id, code, events.LINE)
        return None

    def on_line(code: CodeType, line: int) -> Any:
        watcher = _watchers.get(threading.get_ident())
        if watcher is not None and watcher[0](code):
            watcher[1](sys._getframe(1))
        return None

    monitoring.register_callback(_tool_id, events.PY_START, on_start)
    monitoring.register_callback(_tool_id, events.LINE, on_line)
    return _tool_id
