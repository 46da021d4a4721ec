"""The ``explain`` text: a jitted function's last call, in words a person can act on.

``explanation`` reads a function's counters and call records (``api.records``) and
writes the report; ``JitFunction.explain`` and ``explain`` (``api.explain``, which
also takes plain functions) return it.
"""

from __future__ import annotations

import builtins
import inspect
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ember.xcs.analysis import analyze, critical_path
from ember.xcs.api.records import (
    BarrierRecord,
    CallRecord,
    Comparison,
    Fallback,
    FunctionStats,
)
from ember.xcs.api.views import ExplainReport
from ember.xcs.config import Config
from ember.xcs.ir.graph import Graph, Node, NodeKind, Var
from ember.xcs.ir.render import VarNames, render_text
from ember.xcs.tracing.log import GRAPH_LIMIT

__all__ = ["explanation"]

# What to do about a place where the glue waited, by the start of its reason.
_FIXES = (
    ("eager op (try/with)", "a try/with block around an op makes it run at once, so that "
     "`except` sees its error; put the try around one op inside an op of its own"),
    ("eager op (effect)", "effect=True ops run in program order by design"),
    ("eager op (attribute probe)", "an AttributeError from this op would be caught here "
     "(hasattr, getattr with a default, a class's __getattr__), so it runs at its call; "
     "read the attribute with a dot on a class without __getattr__ to keep it lazy"),
    ("eager op (special method)", "Python acts at once on what this special method "
     "(__str__, __next__, an iteration's __getitem__) returns or raises, so an op it "
     "calls runs at its call; call the op before, and keep its result in the object, "
     "to let it overlap with others"),
    ("eager op (match pattern)", "a `case` pattern reads the subject's attributes at "
     "once, so an op a property calls there runs at its call; read such values before "
     "the `match` to let their ops overlap with others"),
    ("eager op (iterator)", "an op given an iterator (a generator, map, csv.reader, a "
     "file) or a view of a dict (d.values(), MappingProxyType(d)) runs at once, since the "
     "glue may read the same iterator, or change the dict, after it; pass list(...) (or "
     "dict(...)) of it to let the op run in parallel"),
    ("eager op (thread-bound object)", "an op given an object usable only on the "
     "thread that made it (a sqlite3 connection or cursor, as an argument, inside one, or "
     "in a global it reads) runs at its call, on the glue's thread; open a connection "
     "inside the op (or with check_same_thread=False and a lock) to let it run in parallel"),
    ("eager op (learned", "learned line: see learned barriers below"),
    ("warnings filters changed", "the ops issued before a change of the warnings filters "
     "warn under the filters of their time, as in plain Python; change the filters "
     "before the ops, or inside them, to keep them overlapping with the glue"),
    ("learned", "C code rejected a lazy value here (the tracer could not rewrite this code); "
     "call the function on op results inside an op, or mark it @pure"),
    ("jitted call with its own Config", "a jitted function given its own Config runs as "
     "a call of its own, on values; jit it without a Config to have its ops join this "
     "call's graph"),
    ("call of", "this function needs real values; if it has no side effects, mark it "
     "@ember.xcs.pure and it runs when its inputs exist instead"),
    ("is", "`is` compares objects, so it needs the real one; `== None` / `!= None` on "
     "op results stays lazy"),
    ("match", "`match` looks inside the value; inherent, and cheap after a fan-out"),
    ("eager op (serial)", "the call ran its ops one at a time, in program order: "
     "Config(parallel=False), or a plain rerun after a fallback (see fallbacks below)"),
)

# What needs the real value, for reasons whose only fix is where the wait happens.
_NEEDS_VALUE = {
    "bool": "a truth test (if, while, and, or, not)",
    "iter": "iterating over an op result (a for loop, or unpacking in code without source)",
    "unpacking": "unpacking an op result (a, b = r; r[0] stays lazy)",
    "** unpacking": "** unpacking an op result",
    "index": "a lazy index or slice bound on a container that is not lazy",
    "hash": "using an op result as a dict key or set member",
    "raise": "raising an op result (raise err)",
    "raise ... from": "an op result as the cause of a raise (raise X from err)",
    "except": "an except clause naming op results (the classes it catches)",
    "assert message": "an assert's message, put into the AssertionError",
    "isinstance": "a type check (isinstance(), or a library reading __class__)",
    "transform argument": "a transform (vmap, pmap, scan) given an op result: what it is "
                          "(an array, a list, a record) decides how it is mapped, which",
}


def _fix(reason: str) -> str:
    if reason.startswith("call of "):
        name = reason.removeprefix("call of ")
        if name.isidentifier() and isinstance(getattr(builtins, name, None),
                                              types.BuiltinFunctionType | type):
            return _waits(f"{name}() reads the real value")
    if reason in _NEEDS_VALUE:  # first: "isinstance" is no `is` (a prefix below)
        return _waits(f"{_NEEDS_VALUE[reason]} needs the real value")
    for prefix, fix in _FIXES:
        if reason.startswith(prefix):
            return fix
    if reason.startswith(".__"):
        return _waits(f"reading {reason[1:]} with a dot needs the real object")
    return _waits(f"code without source or C code asked for the real value ({reason})")


def _waits(what: str) -> str:
    return (f"{what}, so the glue waits here; that costs nothing once the ops it could "
            "overlap with are issued: keep it below independent ops, or move it into an op")


def _barrier_lines(barriers: tuple[BarrierRecord, ...]) -> list[str]:
    """Repeated barriers once, with a count; a fix where one exists."""
    grouped: dict[tuple[str, str, str], int] = {}
    for barrier in barriers:
        key = (barrier.reason, str(barrier.location or "<unknown>"), barrier.kind)
        grouped[key] = grouped.get(key, 0) + 1
    lines: list[str] = []
    for (reason, location, kind), count in grouped.items():
        times = f" x{count}" if count > 1 else ""
        lines.append(f"  {reason} at {location} [{kind}]{times}")
        lines.append(f"      fix: {_fix(reason)}")
    return lines or ["  none"]


def explanation(stats: FunctionStats, config: Config | None,
                fn: Callable[..., Any] | None = None) -> ExplainReport:
    """The report on the last call recorded in ``stats``.

    The text has the IR, the parallel groups, the critical path with measured times,
    every place the glue waited (grouped, with file:line, whether it was found in the
    code before it ran — ``static`` — asked for at run time — ``dynamic`` — or
    ``learned``, and what to do about it), learned barriers and fallbacks with their
    reasons.

    Args:
        stats: the function's counters and call records (``JitFunction._xcs_stats``).
        config: its configuration (``redact`` hides values in the IR, ``cache``
            allows the cached analysis); ``None`` for the defaults.
        fn: the function, if known: before its first call the report says how to make
            one (``explain(f, *args)`` cannot run a function that takes no arguments).

    Returns:
        A multi-line report: a ``str`` that notebooks show as formatted HTML.

    Example:
        >>> from ember.xcs.api.records import FunctionStats
        >>> print(explanation(FunctionStats("f"), None))
        explain: f
          calls so far: 0
          mode: orchestration
          no call yet: call the function, or explain(f, *args) to run one
        learned barriers (0):
          none
        fallbacks (0):
          none
    """
    counters = _Counters.of(stats)
    plain = counters.plain_runs
    lines = [f"explain: {stats.name}",
             f"  calls so far: {counters.calls}"
             + (f" ({plain} ran as plain Python, untraced: see fallbacks)" if plain else ""),
             f"  mode: {stats.mode}"]
    lines += _later_calls_lines(counters.last, counters.calls, counters.raised)
    if counters.calls == 0 and stats.joined:
        lines.append(f"  no call of its own yet: called {stats.joined} times inside other "
                     "jitted calls, it joined their graphs (explain those)")
    else:
        lines += _last_call_lines(counters.last, config, counters.calls - plain, plain, fn,
                                  counters.raised)
    lines += _comparison_lines(counters.comparison)
    lines += _listed("learned barriers", stats.learned.records)
    lines += _listed("fallbacks", counters.fallbacks)
    return ExplainReport("\n".join(lines))


@dataclass(frozen=True)
class _Counters:
    """The counters ``explain`` reports, read together under the stats lock."""

    last: CallRecord | None
    fallbacks: tuple[Fallback, ...]
    calls: int
    plain_runs: int
    comparison: Comparison | None
    raised: str | None  # what the last call raised, when it issued no ops

    @classmethod
    def of(cls, stats: FunctionStats) -> _Counters:
        with stats.lock:
            return cls(stats.last, tuple(stats.fallbacks), stats.calls, stats.plain_runs,
                       stats.comparison, stats.last_raised)


def _later_calls_lines(last: CallRecord | None, calls: int, raised: str | None) -> list[str]:
    """Say so when the call shown is not the last one: the calls after it traced nothing
    (and what the last of them raised, which the call shown cannot tell)."""
    if last is None or calls <= last.number:
        return []
    later = calls - last.number
    which = "the last call" if later == 1 else f"the last {later} calls"
    lines = [f"  {which} issued no ops (or ran as plain Python): shown below is call "
             f"{last.number}, the last traced one"]
    if raised is not None:
        lines.append(f"  the last call raised {raised}")
    return lines


def _last_call_lines(last: CallRecord | None, config: Config | None, traced: int,
                     plain: int, fn: Callable[..., Any] | None,
                     raised: str | None) -> list[str]:
    """The IR, parallel groups, critical path and barriers of the last traced call."""
    if last is None:
        if plain and not traced:
            return ["  no traced call yet: every call so far ran as plain Python (the "
                    "fallbacks below say why)"]
        if not traced:
            run = "f()" if fn is not None and _runs_without_arguments(fn) else \
                "explain(f, *args)"
            return [f"  no call yet: call the function, or {run} to run one"]
        last_call = "last traced call" if plain else "last call"
        return [f"  no ops were called on the {last_call} (nothing to parallelise)",
                *([f"  the last call raised {raised}"] if raised is not None else [])]
    too_large = len(last.log) > GRAPH_LIMIT
    lines = _summary_lines(last) if too_large else _graph_lines(last, config)
    if last.raised is not None:
        lines.append(f"the call raised {last.raised}")
    barriers = last.barriers
    return [*lines, f"barriers ({len(barriers)}):", *_barrier_lines(barriers)]


def _runs_without_arguments(fn: Callable[..., Any]) -> bool:
    try:
        inspect.signature(fn).bind()
    except (TypeError, ValueError):
        return False
    return True


def _summary_lines(last: CallRecord) -> list[str]:
    """A call too large to print: its shape's figures instead of its graph."""
    shape = last.log.shape()
    return [
        f"IR: {len(last.log)} nodes (over {GRAPH_LIMIT}, too many to print: the lines "
        "below sum it up)",
        f"parallel groups ({shape.parallel_groups}, widest {shape.max_parallelism})",
        f"critical path: {len(shape.critical_path)} ops = "
        f"{shape.critical_path_seconds * 1000:.1f} ms measured; wall "
        f"{last.wall * 1000:.1f} ms; op time added up {shape.op_seconds * 1000:.1f} ms",
    ]


def _graph_lines(last: CallRecord, config: Config | None) -> list[str]:
    """The printed IR, its parallel groups and the measured critical path."""
    graph = last.graph
    redact = bool(config is not None and config.redact)
    analysis, _ = analyze(graph, cache=config.cache if config is not None else True)
    lines = ["IR:"]
    lines += ["  " + line for line in render_text(graph, redact=redact).splitlines()]
    at_once, timed = _most_at_once(last)
    measured = f"; at most {at_once} ran at once, measured" \
        if at_once < min(analysis.width, timed) else ""
    lines.append(f"parallel groups ({analysis.depth}, widest {analysis.width}{measured}):")
    lines += _group_lines(graph, analysis.parallel_groups)
    lines.append(_critical_path_line(graph, last))
    return lines


def _most_at_once(last: CallRecord) -> tuple[int, int]:
    """The most op bodies that ran at the same time in the call, from their measured
    start and end times, and how many bodies took long enough to tell (1 ms or more:
    whether bodies of microseconds overlapped is chance, and costs nothing). The groups
    say what could run at once; this says what did (one at a time under
    ``executor="sync"``, ``max_workers=1`` or ``max_concurrency=1``)."""
    timed = [(entry.started, entry.ended) for entry in last.log.entries
             if entry.kind is not NodeKind.LIFTED and entry.started
             and entry.ended - entry.started >= _TELLS]
    # At equal times an end (-1) sorts first: bodies that only touch did not overlap.
    events = sorted([(start, 1) for start, _ in timed] + [(end, -1) for _, end in timed])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most, len(timed)


_TELLS = 0.001  # seconds: a body this long shows whether it overlapped others


def _group_lines(graph: Graph, groups: Sequence[Sequence[int]]) -> list[str]:
    """One line per parallel group: each op as ``variable=name``."""
    names = VarNames(graph)
    return [
        f"  {level}: " + ", ".join(f"{names[_output(graph.nodes[i])]}={graph.nodes[i].name}"
                                   for i in group)
        for level, group in enumerate(groups)
    ]


def _output(node: Node) -> Var:
    assert node.output is not None, "parallel groups hold op nodes, which have outputs"
    return node.output


def _critical_path_line(graph: Graph, last: CallRecord) -> str:
    """The critical path by measured durations, beside the wall time and the op time."""
    durations = last.durations
    length, path = critical_path(graph, durations)
    op_time = sum(durations.values())
    return (
        f"critical path: {' -> '.join(graph.nodes[i].name for i in path) or '(none)'} "
        f"= {length * 1000:.1f} ms measured; wall {last.wall * 1000:.1f} ms; "
        f"op time added up {op_time * 1000:.1f} ms"
    )


def _comparison_lines(comparison: Comparison | None) -> list[str]:
    """The plain-versus-jit timing that ``compare`` measured, if it ran."""
    if comparison is None:
        return []
    return [f"measured: plain {comparison.plain_ms:.1f} ms, jit {comparison.jit_ms:.1f} ms"
            f" (median of {comparison.repeat}), speedup {comparison.speedup:.2f}x"]


def _listed(title: str, items: Sequence[object]) -> list[str]:
    """``title (count):`` and one indented line per item, or ``none``."""
    return [f"{title} ({len(items)}):", *([f"  {item}" for item in items] or ["  none"])]
