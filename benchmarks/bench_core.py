"""Core benchmark: import time, and efficiency on the five 50 ms DAG workloads, warm.

Prints one table, from one run:

- ``import ember.xcs`` in a fresh interpreter (median of 5; target < 100 ms);
- efficiency = critical path / wall time of ``@jit`` on fan-out-64, diamond,
  ensemble+judge, map-reduce and two-stage (``ember.testing.shapes``) with ops that
  sleep 50 ms, called back to back (target >= 0.97, issues 13 and 14). The critical
  path is the shape's longest chain of calls times one op's latency as measured in
  plain Python (median of 20 calls), so sleep overshoot counts as part of the op.

The same workloads after a 3 s pause are in ``bench_fanout.py``; plain Python,
hand-written pools and Dask on them in ``bench_shapes.py``.

Run: python benchmarks/bench_core.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

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
        timings, values = compare({"jit": jit(program)}, warmup=1, repeats=repeats)
        check_equal(f"{name} under jit", values["jit"], expected)
        wall = timings["jit"].median
        critical = shape.critical_path_calls * one_op
        report.at_least(f"{name}, 50 ms ops, warm", critical / wall, EFFICIENCY_TARGET, "",
                        "efficiency",
                        f"critical path {critical * 1e3:.1f} ms / wall {wall * 1e3:.1f} ms "
                        f"({timings['jit'].spread()})")
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
