"""Scheduler efficiency on graphs of sleeping ops: critical path / wall time.

Prints one table, from one run: the efficiency of the ``parallel`` scheduler on graphs
of 50 ms ops (target >= 0.9), and on graphs with uneven node latencies, where ``wave``
loses time waiting for the slowest node of each level, how much more efficient
``parallel`` is than ``wave`` (target > 1.2x); ``sequential`` is printed alongside.
Every scheduler gets the same warm-up run and number of timed runs, interleaved; the
median counts. ``parallel`` and ``wave`` must return what ``sequential`` (one node after
another, in program order) returns, or the script fails.

Run: ``python benchmarks/bench_schedulers.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable

from _harness import Report, Timing, check_equal, compare

from ember.xcs import autograph, execute, execution_options, op
from ember.xcs.analysis import critical_path
from ember.xcs.ir import Graph

SCHEDULERS = ("parallel", "wave", "sequential")


@op
def work(seconds: float, *deps: object) -> float:
    """Stand-in for an LLM call: sleeps, returns how long."""
    time.sleep(seconds)
    return seconds


def fan_out_in(width: int, latency: Callable[[int], float]) -> Graph:
    with autograph("fan-out/fan-in") as recording:
        branches = [work(latency(i)) for i in range(width)]
        judged = work(latency(width), *branches)  # noqa: F841 - named output
    return recording.graph


def diamond_layers(layers: int, width: int, latency: Callable[[int], float]) -> Graph:
    with autograph("layered DAG") as recording:
        previous: list[object] = []
        counter = 0
        for _ in range(layers):
            current = []
            for j in range(width):
                inputs = previous[j:j + 2] if previous else []
                current.append(work(latency(counter), *inputs))
                counter += 1
            previous = current
        last = previous  # noqa: F841 - named output
    return recording.graph


def uneven_chains(chains: int, length: int, rng: random.Random) -> Graph:
    with autograph("uneven chains") as recording:
        ends = []
        for _ in range(chains):
            value = None
            for _ in range(length):
                seconds = rng.choice([0.01, 0.01, 0.12])
                value = work(seconds, value) if value is not None else work(seconds)
            ends.append(value)
    return recording.graph


def measure(graph: Graph, repeats: int) -> tuple[float, dict[str, Timing]]:
    """Critical path seconds of ``graph``, and each scheduler's timings on it.

    Every scheduler gets one warm-up run and ``repeats`` timed runs, interleaved, and
    must return what the sequential scheduler returns.
    """
    durations = {n.id: n.args[0] for n in graph.nodes if n.is_op}
    path, _ = critical_path(graph, durations)
    runs = {scheduler: (lambda s=scheduler: execute(
        graph, options=execution_options(scheduler=s, max_workers=64)))
        for scheduler in SCHEDULERS}
    timings, values = compare(runs, warmup=1, repeats=repeats)
    for scheduler in SCHEDULERS:
        check_equal(f"{graph.name}, {scheduler} scheduler", values[scheduler],
                    values["sequential"])
    return path, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else 5
    rng = random.Random(7)

    uniform = {
        "fan-out 16 + judge": fan_out_in(16, lambda i: 0.05),
        "layered 4x8": diamond_layers(4, 8, lambda i: 0.05),
    }
    uneven = {
        "uneven chains 6x5": uneven_chains(6, 5, rng),
        "layered 4x8 uneven": diamond_layers(4, 8, lambda i: 0.12 if i % 5 == 0 else 0.01),
    }
    report = Report("bench_schedulers: schedulers of explicit graphs on sleeping ops",
                    f"each scheduler: 1 warm-up run, then {repeats} timed runs, interleaved, "
                    "median; efficiency = critical path (from the ops' sleeps) / wall")
    for title, graph in {**uniform, **uneven}.items():
        path, timings = measure(graph, repeats)
        efficiency = {s: path / timings[s].median for s in SCHEDULERS}
        detail = (f"{len(graph)} nodes, critical path {path * 1e3:.0f} ms; efficiency "
                  + ", ".join(f"{s} {efficiency[s]:.2f}" for s in SCHEDULERS))
        if title in uniform:
            report.at_least(f"{title} (50 ms ops), parallel scheduler", efficiency["parallel"],
                            0.9, "", "efficiency", detail)
        else:
            report.at_least(f"{title}, parallel vs wave", efficiency["parallel"]
                            / efficiency["wave"], 1.2, "x", "wave's efficiency", detail)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
