"""Core benchmark: import time, and efficiency on the five 50 ms DAG workloads, warm.

Prints one table, from one run:

- ``import ember.xcs`` in a fresh interpreter (median of 5; target < 100 ms);
- efficiency = critical path / wall time of ``@jit`` on fan-out-64, diamond,
  ensemble+judge, map-reduce and two-stage (``ember.testing.shapes``) with ops that
  sleep 50 ms, called back to back (target >= 0.97, issues 13 and 14). The critical
  path is the shape's longest chain of calls times one op's latency as measured in
  plain Python (median of 20 calls), so sleep overshoot counts as part of the op.
  Fan-out-64 is also run by the leanest hand-written version (64 threads started
  beforehand, one queue, one counter) in the same run: what threads can do on this
  machine at best, since every blocking op needs a thread woken for it.

The same workloads after a 3 s pause are in ``bench_fanout.py``; plain Python,
hand-written pools and Dask on them in ``bench_shapes.py``.

Run: python benchmarks/bench_core.py [--quick]
"""

from __future__ import annotations

import argparse
import functools
import queue
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from _harness import Report, check_equal, compare, op_latency

from ember.testing.shapes import SHAPES, make_op
from ember.xcs import jit

LATENCY = 0.05
WORKLOADS = ("fan-out-64", "diamond", "ensemble+judge", "map-reduce", "two-stage")
EFFICIENCY_TARGET = 0.97


def import_ms(runs: int = 5) -> list[float]:
    """Milliseconds for fresh interpreters to import ember.xcs."""
    code = "import time; t = time.perf_counter(); import ember.xcs; print(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) * 1000 for _ in range(runs)]


def warm_threads_fan_out(call: Callable[[str], Any], width: int) -> Callable[[], list[Any]]:
    """Fan-out-``width`` by hand: ``width`` threads started now, each waiting on one queue."""
    work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            work.get()()

    for _ in range(width):
        threading.Thread(target=worker, daemon=True).start()

    def fan_out() -> list[Any]:
        results: list[Any] = [None] * width
        left = [width]
        lock = threading.Lock()
        done = threading.Event()

        def one(index: int) -> None:
            value = call(f"leaf{index}")
            with lock:
                results[index] = value
                left[0] -= 1
                if left[0] == 0:
                    done.set()

        for index in range(width):
            work.put(functools.partial(one, index))
        done.wait()
        return results

    return fan_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    report = Report("bench_core: import time and warm efficiency of the 50 ms DAG workloads",
                    f"jit: 1 warm-up call, then {repeats} timed calls back to back, median; "
                    "efficiency = critical path / median wall")

    imports = import_ms()
    report.at_most("import ember.xcs (fresh interpreter)", statistics.median(imports), 100,
                   " ms", "", f"5 runs: {min(imports):.1f}-{max(imports):.1f} ms")

    op = make_op(LATENCY)
    one_op = op_latency(op)
    for name in WORKLOADS:
        shape = SHAPES[name]
        program = shape.build(op)
        expected = shape.build(make_op(0.0))()
        sides: dict[str, Callable[[], Any]] = {"jit": jit(program)}
        if name == "fan-out-64":
            sides["warm threads"] = warm_threads_fan_out(op.fn, shape.op_calls)
        timings, values = compare(sides, warmup=1, repeats=repeats)
        critical = shape.critical_path_calls * one_op
        for side, timing in timings.items():
            check_equal(f"{name} by {side}", values[side], expected)
            detail = (f"critical path {critical * 1e3:.1f} ms / wall "
                      f"{timing.median * 1e3:.1f} ms ({timing.spread()})")
            if side == "jit":
                report.at_least(f"{name}, 50 ms ops, warm", critical / timing.median,
                                EFFICIENCY_TARGET, "", "efficiency", detail)
            else:
                report.info(f"{name}, 50 ms ops, {side} (hand-written)",
                            f"{critical / timing.median:.3f} efficiency", detail)
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
