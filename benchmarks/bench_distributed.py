"""Distributed benchmark: ``pmap`` of CPU-bound pure Python on Dask vs the thread engine.

Pure-Python CPU work holds the GIL, so the thread engine runs the items one at a
time; a Dask ``LocalCluster`` with one single-threaded worker process per core runs
them side by side. Prints one table, from one run: the ratio of the two wall times
(target: Dask >= 1.7x faster with 2 worker processes on a 2-core machine).

Cluster start-up is measured and printed separately, not counted in the ratio: a
cluster is started once and serves many calls. Each engine gets one warm-up call on
the whole batch, then ``--repeats`` timed calls, interleaved; the median counts.

Run: python benchmarks/bench_distributed.py [--quick] [--items N] [--work N]
"""

from __future__ import annotations

import argparse
import os

from _harness import Report, check_equal, compare, timed

from ember.xcs import Config, dask_executor, pmap

TARGET = 1.7


def count_primes(limit: int) -> int:
    """Count primes below ``limit`` by trial division: pure Python, CPU-bound."""
    found = 0
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            found += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller batch (CI)")
    parser.add_argument("--items", type=int, default=None, help="batch size")
    parser.add_argument("--work", type=int, default=None, help="prime limit per item")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per engine")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    args = parser.parse_args(argv)
    items = args.items or (8 if args.quick else 16)
    work = args.work or (100_000 if args.quick else 150_000)
    repeats = args.repeats or (3 if args.quick else 5)
    batch = [work + i for i in range(items)]

    expected = [count_primes(limit) for limit in batch]
    start_time, cluster = timed(lambda: dask_executor(n_workers=args.workers,
                                                      threads_per_worker=1))
    with cluster:
        thread_engine = pmap(count_primes, config=Config(executor="thread"))
        on_dask = pmap(count_primes, config=Config(executor=cluster))
        timings, values = compare({"threads": lambda: thread_engine(batch),
                                   "dask": lambda: on_dask(batch)},
                                  warmup=1, repeats=repeats)
    for side in ("threads", "dask"):
        check_equal(f"pmap on {side}", values[side], expected)
    threads, dasked = timings["threads"].median, timings["dask"].median
    report = Report(
        f"bench_distributed: pmap(count_primes) over {items} items (limit ~{work}), "
        f"{os.cpu_count()} CPU cores, {args.workers} Dask worker processes",
        f"each engine: 1 warm-up call, then {repeats} timed calls, interleaved, median; "
        f"cluster start-up ({start_time:.2f} s) not counted")
    report.at_least("pmap of CPU-bound pure Python, thread engine / Dask", threads / dasked,
                    TARGET, "x", "(Dask faster)",
                    f"thread engine {threads:.2f} s, Dask {dasked:.2f} s")
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
