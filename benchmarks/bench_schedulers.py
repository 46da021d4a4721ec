"""Scheduler efficiency on graphs of sleeping ops: critical path / wall time.

Prints, in one run, the efficiency of the ``parallel`` scheduler on graphs of 50 ms ops
(target >= 0.9) and compares ``wave`` and ``sequential`` on graphs with uneven node
latencies, where ``wave`` loses time waiting for the slowest node of each level.

Run: ``python benchmarks/bench_schedulers.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable

from ember.xcs import autograph, execute, execution_options, op
from ember.xcs.analysis import critical_path
from ember.xcs.ir import Graph


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


def measure(graph: Graph, scheduler: str, repeats: int) -> tuple[float, float]:
    """(critical path seconds, best wall seconds) for ``graph`` under ``scheduler``."""
    durations = {n.id: n.args[0] for n in graph.nodes if n.is_op}
    path, _ = critical_path(graph, durations)
    walls = []
    options = execution_options(scheduler=scheduler, max_workers=64)
    for _ in range(repeats):
        started = time.perf_counter()
        execute(graph, options=options)
        walls.append(time.perf_counter() - started)
    return path, min(walls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
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
    print(f"{'graph':<24} {'scheduler':<11} {'nodes':>5} {'critical path':>14} "
          f"{'wall':>9} {'efficiency':>10}")
    ok = True
    results: dict[tuple[str, str], float] = {}
    for title, graph in {**uniform, **uneven}.items():
        for scheduler in ("parallel", "wave", "sequential"):
            path, wall = measure(graph, scheduler, 1 if scheduler == "sequential" else repeats)
            efficiency = path / wall
            results[(title, scheduler)] = efficiency
            print(f"{title:<24} {scheduler:<11} {len(graph):>5} {path * 1000:>11.1f} ms "
                  f"{wall * 1000:>6.1f} ms {efficiency:>10.2f}")
    print()
    for title in uniform:
        efficiency = results[(title, "parallel")]
        verdict = "ok" if efficiency >= 0.9 else "BELOW TARGET"
        ok &= efficiency >= 0.9
        print(f"parallel efficiency on {title} (50 ms ops): {efficiency:.2f} (target >= 0.90) "
              f"{verdict}")
    for title in uneven:
        ratio = results[(title, "parallel")] / results[(title, "wave")]
        print(f"{title}: parallel is {ratio:.2f}x as efficient as wave "
              f"(wave {results[(title, 'wave')]:.2f}, parallel "
              f"{results[(title, 'parallel')]:.2f}, sequential "
              f"{results[(title, 'sequential')]:.2f})")
        ok &= ratio > 1.2
    return 0 if ok else 3  # 3: a target was missed (see run_all.py)


if __name__ == "__main__":
    sys.exit(main())
