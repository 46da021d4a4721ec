"""What every benchmark script shares: one way to time, one result table, one exit code.

Timing: every side of a comparison (plain Python and ``@jit``, XCS and its peer) gets
the same warm-up calls and the same number of timed calls, interleaved so that load
from elsewhere on the machine hits both alike, and is summarised by its median.

Reporting: a script adds one row per workload (what ran, the target, the measured
value, the verdict) and prints them as one table at its end. Its exit code is 0 when
every target was met and ``MISSED_TARGET`` (3) when a target was missed: a miss is a
finding, not a failure. A wrong result is a failure (``fail``: exit 1).

When the environment variable ``EMBER_BENCH_SUMMARY`` names a file, the missed rows
are also written there as JSON, for ``run_all.py`` to list at the end of a run.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MISSED_TARGET = 3
SUMMARY_ENV = "EMBER_BENCH_SUMMARY"

MET, MISSED, INFO = "met", "MISSED", "info"


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed call, in order."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> str:
        """``min-max`` in milliseconds, to show how much the runs moved."""
        return f"{min(self.samples) * 1e3:.1f}-{max(self.samples) * 1e3:.1f} ms"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took, and what it returned."""
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def compare(sides: dict[str, Callable[[], Any]], *, warmup: int, repeats: int,
            before_each: Callable[[], None] | None = None
            ) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Time every side the same way: ``warmup`` untimed calls, then ``repeats`` timed.

    The timed calls are interleaved (a, b, a, b, ...). ``before_each`` runs, untimed,
    before every timed call (for example a pause).

    Returns:
        Each side's timings, and the value its last call returned.
    """
    values: dict[str, Any] = {}
    for name, fn in sides.items():
        for _ in range(warmup):
            values[name] = fn()
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            if before_each is not None:
                before_each()
            seconds, values[name] = timed(fn)
            samples[name].append(seconds)
    return {name: Timing(tuple(found)) for name, found in samples.items()}, values


def op_latency(call: Callable[[str], Any], calls: int = 20) -> float:
    """Median seconds of one call of ``call("probe")`` in plain Python (sleep overshoot too)."""
    return statistics.median(timed(lambda: call("probe"))[0] for _ in range(calls))


def per_call(fn: Callable[[], Any], calls: int) -> float:
    """Mean seconds per call over ``calls`` back-to-back calls (for sub-microsecond work)."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS


def fail(message: str) -> None:
    """Stop the script as failed (exit 1): a result differed, or something broke."""
    raise SystemExit(f"FAILED: {message}")


def check_equal(what: str, got: Any, expected: Any) -> None:
    """``fail`` unless ``got == expected`` (results must equal plain Python's)."""
    if got != expected:
        shown = repr(got)[:200], repr(expected)[:200]
        fail(f"{what}: got {shown[0]}, expected {shown[1]}")


def _shown(value: float, bound: float) -> str:
    """``value`` with 3 significant digits, more if it would print like a different bound."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    digits = 3
    while value != bound and f"{value:.{digits}g}" == f"{bound:.{digits}g}" and digits < 9:
        digits += 1
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class Row:
    workload: str
    target: str
    measured: str
    verdict: str
    detail: str


@dataclass
class Report:
    """The rows of one script's table; ``finish`` prints it and gives the exit code."""

    title: str
    method: str
    rows: list[Row] = field(default_factory=list)

    def at_most(self, workload: str, value: float, bound: float, unit: str,
                target: str, detail: str = "") -> None:
        """A row whose target is ``value <= bound``."""
        self._add(workload, value, bound, value <= bound,
                  f"<= {bound:g}{unit} {target}".rstrip(), unit, detail)

    def at_least(self, workload: str, value: float, bound: float, unit: str,
                 target: str, detail: str = "") -> None:
        """A row whose target is ``value >= bound``."""
        self._add(workload, value, bound, value >= bound,
                  f">= {bound:g}{unit} {target}".rstrip(), unit, detail)

    def info(self, workload: str, measured: str, detail: str = "",
             target: str = "-") -> None:
        """A row without a target: a measured fact printed for comparison."""
        self.rows.append(Row(workload, target, measured, INFO, detail))

    def _add(self, workload: str, value: float, bound: float, met: bool, target: str,
             unit: str, detail: str) -> None:
        self.rows.append(Row(workload, target, _shown(value, bound) + unit,
                             MET if met else MISSED, detail))

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == MISSED]

    def finish(self) -> int:
        """Print the table; write missed rows for ``run_all``; return the exit code."""
        print(f"\n{self.title}")
        print(self.method)
        headers = Row("workload", "target", "measured", "verdict", "detail")
        columns = [headers, *self.rows]
        widths = [max(len(getattr(row, name)) for row in columns)
                  for name in ("workload", "target", "measured", "verdict")]
        for row in columns:
            cells = (row.workload, row.target, row.measured, row.verdict)
            line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))
            print(f"{line}  {row.detail}".rstrip())
        missed = self.missed
        print(f"targets: {len(missed)} missed of "
              f"{sum(row.verdict != INFO for row in self.rows)}", flush=True)
        summary = os.environ.get(SUMMARY_ENV)
        if summary:
            with open(summary, "w", encoding="utf-8") as stream:
                json.dump([row.__dict__ for row in missed], stream)
        return MISSED_TARGET if missed else 0
