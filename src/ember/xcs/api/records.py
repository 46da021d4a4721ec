"""What a jitted function remembers: its counters (``FunctionStats``) and records of
its calls (``CallRecord``, ``Fallback``, barriers, node timings, comparisons).

Each jitted function keeps counters plus a record of its last call (graph, node
durations, barriers). Analysis runs when stats are asked for, not on every call.
``api.stats`` answers ``get_jit_stats`` from these.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from ember.xcs.analysis import analyze, critical_path
from ember.xcs.ir.graph import Graph, NodeKind, SourceLocation
from ember.xcs.tracing.learned import LearnedBarriers
from ember.xcs.tracing.log import GRAPH_LIMIT, CallLog

__all__ = ["BarrierRecord", "CallRecord", "Comparison", "Fallback", "FunctionStats",
           "NodeTiming"]

_FALLBACK_HISTORY = 32


@dataclass(frozen=True)
class Fallback:
    """Where XCS ran a call (or part of one) otherwise than by tracing it, and why.

    ``repeats`` counts consecutive calls that fell back for the same reason at the same
    place (one entry for them all); it takes no part in equality.
    """

    reason: str
    location: SourceLocation | None
    eager: bool = False  # the call ran in plain program order (not just a learned line)
    repeats: int = field(default=1, compare=False)

    def __str__(self) -> str:
        text = f"{self.reason} (at {self.location})" if self.location else self.reason
        return f"{text} [{self.repeats} times in a row]" if self.repeats > 1 else text


@dataclass(frozen=True)
class BarrierRecord:
    """A barrier met during a call: why the glue needed a value, where, and how it was known.

    ``kind`` is ``static`` (found in the code before it ran: ``is``, ``match``, a call
    of C code), ``dynamic`` (the value was asked for at run time: ``bool``, ``len``,
    ``iter``...) or ``learned`` (a line learned after C code rejected a lazy value).
    """

    reason: str
    location: SourceLocation | None
    kind: str = "dynamic"

    def __str__(self) -> str:
        return f"{self.reason} at {self.location or '<unknown>'}"


@dataclass(frozen=True)
class NodeTiming:
    """When a node's body ran, in milliseconds from the start of the call."""

    node: int
    name: str
    start_ms: float
    end_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "name": self.name, "start_ms": round(self.start_ms, 3),
                "end_ms": round(self.end_ms, 3)}


class CallRecord:
    """What one call did (kept for the last call of each function).

    It holds the call's ``CallLog`` (no engine task, no lazy value); the graph,
    durations and timings are derived from it the first time they are asked for.

    Args:
        log: the compact record of the call.
        wall: seconds from the call's start to its end.
        structure: a hash of the graph's shape (for ``structure_repeats``).
        reruns: how often the glue ran again (last-resort learned barriers).
        started: the call's start on the ``perf_counter`` clock when profiling, to
            turn node times into offsets; ``None`` keeps no timings.
        raised: what the call raised (``"ValueError: ..."``), or ``None``.

    ``number`` is the call's place among the function's calls (1 for the first), set
    when it is recorded: later calls that issued no ops leave it the last record.
    """

    __slots__ = ("log", "number", "raised", "reruns", "started", "structure", "wall")

    def __init__(self, *, log: CallLog, wall: float, structure: int, reruns: int = 0,
                 started: float | None = None, raised: str | None = None) -> None:
        self.raised = raised
        self.log = log
        self.wall = wall
        self.structure = structure
        self.reruns = reruns
        self.started = started
        self.number = 0

    @property
    def graph(self) -> Graph:
        """The IR of the call (built on first access)."""
        return self.log.graph()

    @property
    def durations(self) -> dict[int, float]:
        """Seconds each op body ran, by node id."""
        return self.log.durations()

    @property
    def barriers(self) -> tuple[BarrierRecord, ...]:
        """The barriers of the call, in program order."""
        return tuple(BarrierRecord(b.reason, b.location, b.kind) for b in self.log.barriers)

    @property
    def timings(self) -> tuple[NodeTiming, ...]:
        """When each op body ran, relative to the call's start (profiling only)."""
        start = self.started
        if start is None:
            return ()
        log = self.log
        return tuple(
            NodeTiming(log.node_id(index), entry.name, (entry.started - start) * 1000,
                       (entry.ended - start) * 1000)
            for index, entry in enumerate(log.entries)
            if entry.started and entry.kind is not NodeKind.LIFTED
        )


@dataclass(frozen=True)
class Comparison:
    """A measured comparison of plain Python and ``@jit`` (see ``compare``)."""

    plain_ms: float
    jit_ms: float
    repeat: int

    @property
    def speedup(self) -> float:
        """How many times faster the jitted calls were (median against median)."""
        return self.plain_ms / self.jit_ms if self.jit_ms > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {"plain_ms": round(self.plain_ms, 3), "jit_ms": round(self.jit_ms, 3),
                "speedup": round(self.speedup, 3), "repeat": self.repeat}


@dataclass
class FunctionStats:
    """Counters of one jitted function (all fields guarded by ``lock``)."""

    name: str
    learned: LearnedBarriers = field(default_factory=LearnedBarriers)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    traced_calls: int = 0
    structure_repeats: int = 0
    reruns: int = 0
    errors: int = 0
    total_time: float = 0.0
    tokens: dict[str, int] = field(default_factory=dict)
    fallbacks: deque[Fallback] = field(default_factory=lambda: deque(maxlen=_FALLBACK_HISTORY))
    last: CallRecord | None = None
    last_width: int | None = None
    last_raised: str | None = None  # what the last call raised when it issued no ops
    joined: int = 0  # calls made inside another jitted call, whose graph they joined
    escapes: int = 0
    escape_seconds: float = 0.0
    unrepaired_escapes: dict[str, int] = field(default_factory=dict)
    comparison: Comparison | None = None
    mode: str = "orchestration"
    plain_runs: int = 0  # calls run as plain Python, untraced (api/hosts.py)

    def note_fallback(self, fallback: Fallback, plain: bool = False) -> None:
        """Remember a fallback (kept: the most recent 32); ``plain``: the call runs untraced."""
        with self.lock:
            self.plain_runs += plain
            self._add_fallback(fallback)

    def _add_fallback(self, fallback: Fallback) -> None:
        """The same fallback as the last one counts as a repeat of it (under ``lock``)."""
        fallbacks = self.fallbacks
        if fallbacks and fallbacks[-1] == fallback:
            fallbacks[-1] = replace(fallbacks[-1], repeats=fallbacks[-1].repeats + 1)
        else:
            fallbacks.append(fallback)

    def record_escapes(self, report: Any, record: CallRecord | None = None) -> None:
        """Count lazy values that escaped a call and what repairing them cost (a part
        of the call's wall time: the caller waited for it)."""
        with self.lock:
            self.escapes += report.escaped
            self.escape_seconds += report.seconds
            self.total_time += report.seconds
            if record is not None:  # the call that made them
                record.wall += report.seconds
            for holder in report.unrepaired:
                self.unrepaired_escapes[holder] = self.unrepaired_escapes.get(holder, 0) + 1

    def record_comparison(self, comparison: Comparison) -> None:
        """Keep the latest measured plain-versus-jit comparison."""
        with self.lock:
            self.comparison = comparison

    def record_plain(self, wall: float, failed: bool, raised: str | None = None) -> None:
        """A call that issued no ops.

        Without the lock, as on the tensor path: under the GIL no other thread runs
        between the load and the store of each update (no call, no backward jump, no
        allocation of a tracked object in between), so no count is lost; such a call
        costs a few microseconds in all, and taking a lock would be a visible part of it.
        """
        self.calls += 1
        self.total_time += wall
        self.errors += failed
        self.last_raised = raised

    def record(self, record: CallRecord, tokens: dict[str, int], failed: bool) -> bool:
        """A traced call; returns whether its graph had the previous call's structure."""
        with self.lock:
            self.calls += 1
            self.traced_calls += 1
            record.number = self.calls
            self.total_time += record.wall
            self.errors += failed
            self.reruns += record.reruns
            repeat = self.last is not None and self.last.structure == record.structure
            self.structure_repeats += repeat
            self.last = record
            for key, count in tokens.items():
                self.tokens[key] = self.tokens.get(key, 0) + count
            return repeat

    def reset(self) -> None:
        """Forget every counter and the last call (learned barriers are kept)."""
        with self.lock:
            self.calls = self.traced_calls = self.structure_repeats = self.reruns = 0
            self.plain_runs = 0
            self.errors = self.escapes = 0
            self.total_time = self.escape_seconds = 0.0
            self.tokens = {}
            self.unrepaired_escapes = {}
            self.fallbacks.clear()
            self.last = None
            self.last_raised = None
            self.joined = 0
            self.comparison = None

    def snapshot(self, cache: bool = True) -> dict[str, Any]:
        """The stats as a plain dict (see ``get_jit_stats`` for every key)."""
        with self.lock:
            last = self.last
            result: dict[str, Any] = {
                "name": self.name,
                "mode": self.mode,
                "calls": self.calls,
                "traced_calls": self.traced_calls,
                "structure_repeats": self.structure_repeats,
                "reruns": self.reruns,
                "errors": self.errors,
                "total_time_ms": self.total_time * 1000,
                "tokens": dict(self.tokens),
                "fallbacks": [str(f) for f in self.fallbacks],
                "learned_barriers": [str(b) for b in self.learned.records],
                "escapes": self.escapes,
                "escape_repair_ms": self.escape_seconds * 1000,
                "unrepaired_escapes": dict(self.unrepaired_escapes),
                "comparison": self.comparison.as_dict() if self.comparison else None,
                "speedup": self.comparison.speedup if self.comparison else None,
            }
        result.update(_last_call_facts(last, cache))
        return result


def _last_call_facts(last: CallRecord | None, cache: bool) -> dict[str, Any]:
    if last is None:
        return {"nodes": 0, "ops": 0, "node_kinds": {}, "parallel_groups": 0,
                "max_parallelism": 0, "critical_path_ms": None, "critical_path": [],
                "op_time_ms": None, "wall_ms": None, "overlap": None, "efficiency": None,
                "barriers": [], "barrier_kinds": {}, "result_cache": None}
    if len(last.log) > GRAPH_LIMIT:  # a huge call: its facts without building its graph
        shape = last.log.shape()
        counts, depth, width = shape.node_kinds, shape.parallel_groups, shape.max_parallelism
        path_length, path_names = shape.critical_path_seconds, list(shape.critical_path)
        op_time = shape.op_seconds
    else:
        graph = last.graph
        analysis, _ = analyze(graph, cache=cache)
        durations = last.durations
        path_length, path = critical_path(graph, durations)
        counts, depth, width = dict(analysis.counts), analysis.depth, analysis.width
        path_names = [graph.nodes[i].name for i in path]
        op_time = sum(durations.values())
    wall = last.wall
    measured = op_time > 0 and wall > 0
    kinds: dict[str, int] = {}
    for barrier in last.barriers:
        kinds[barrier.kind] = kinds.get(barrier.kind, 0) + 1
    facts: dict[str, Any] = {
        "nodes": sum(counts.values()),
        "ops": counts["op"] + counts["tensor"],
        "node_kinds": counts,
        "parallel_groups": depth,
        "max_parallelism": width,
        "critical_path_ms": path_length * 1000 if measured else None,
        "critical_path": path_names,
        "op_time_ms": op_time * 1000 if measured else None,
        "wall_ms": wall * 1000,
        "overlap": op_time / wall if measured else None,
        "efficiency": min(1.0, path_length / wall) if measured and path_length else None,
        "barriers": [str(barrier) for barrier in last.barriers],
        "barrier_kinds": kinds,
        "result_cache": _result_cache_counts(last),
    }
    if last.timings:
        facts["node_timings"] = [t.as_dict() for t in last.timings]
    return facts


def _result_cache_counts(last: CallRecord) -> dict[str, int] | None:
    """Result-cache counts (process totals) of the ops this function's last call used."""
    from ember.xcs.cache.counters import EVENTS, counters

    names = {entry.name for entry in last.log.entries if entry.kind is not NodeKind.LIFTED}
    by_op = counters()["by_op"]
    used = [by_op[name] for name in names if name in by_op]
    if not used:
        return None
    return {event: sum(counts[event] for counts in used) for event in EVENTS}
