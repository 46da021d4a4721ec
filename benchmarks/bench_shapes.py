"""DAG shapes, four ways: plain Python, @jit, a hand-written thread pool, Dask delayed.

The programs are the standard shapes of ``ember.testing.shapes`` (fan-out-64, diamond,
ensemble+judge, map-reduce, two-stage, chain), all built on one op that sleeps
``--latency`` seconds. The same shape function runs with a different ``call``:

- plain: the op itself, one call after another;
- jit: ``jit(shape)``, nothing else changed;
- thread pool: what one writes by hand with ``concurrent.futures``: every call is
  submitted at once and waits for its input futures inside the worker (a pool as
  wide as the graph, so that waiting never starves it);
- Dask delayed: ``dask.delayed(op)`` and ``dask.compute(..., scheduler="threads")``.

Each of the four gets one warm-up call and the same number of timed calls,
interleaved; the median counts. Prints one table: jit's speedup over plain Python, the
other engines' times relative to jit, and efficiency = critical path / wall for each
parallel engine, with the critical path taken as the shape's longest chain of calls
times one op's latency measured in plain Python. A comparison: its rows carry no
target (the efficiency targets on these workloads are checked by ``bench_core.py``,
warm, and ``bench_fanout.py``, after a pause); every engine must return plain
Python's result.

Run: python benchmarks/bench_shapes.py [--quick] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import concurrent.futures
from collections.abc import Callable
from typing import Any

from _harness import Report, check_equal, compare, op_latency

from ember.testing.shapes import SHAPES, make_op
from ember.xcs import jit


def _resolve(tree: Any) -> Any:
    if isinstance(tree, concurrent.futures.Future):
        return tree.result()
    if isinstance(tree, list):
        return [_resolve(item) for item in tree]
    return tree


def _pool_call(pool: concurrent.futures.Executor, body: Callable[..., Any]) -> Callable[..., Any]:
    def call(tag: str, *inputs: Any) -> concurrent.futures.Future[Any]:
        return pool.submit(lambda: body(tag, *[_resolve(i) for i in inputs]))

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per op")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    import dask

    op = make_op(args.latency)
    one_op = op_latency(op)
    report = Report(
        f"bench_shapes: plain, jit, thread pool and Dask delayed on ops of "
        f"{args.latency * 1e3:g} ms",
        f"each engine: 1 warm-up call, then {repeats} timed calls, interleaved, median; "
        "efficiency = critical path / wall")
    for shape in SHAPES.values():
        critical = shape.critical_path_calls * one_op
        plain_fn = shape.build(op)
        dask_fn = shape.build(dask.delayed(op.fn, pure=False))
        with concurrent.futures.ThreadPoolExecutor(max_workers=shape.op_calls) as pool:
            pool_fn = shape.build(_pool_call(pool, op.fn))
            timings, values = compare({
                "plain": plain_fn,
                "jit": jit(plain_fn),
                "pool": lambda pool_fn=pool_fn: _resolve(pool_fn()),
                "dask": lambda dask_fn=dask_fn: dask.compute(
                    dask_fn(), scheduler="threads", num_workers=shape.op_calls)[0],
            }, warmup=1, repeats=repeats)
        for side in ("jit", "pool", "dask"):
            check_equal(f"{shape.name} ({side})", values[side], values["plain"])
        wall = {side: timing.median for side, timing in timings.items()}
        report.info(
            f"{shape.name} ({shape.op_calls} ops): jit speedup over plain",
            f"{wall['plain'] / wall['jit']:.1f}x",
            f"jit {wall['jit'] * 1e3:.0f} ms, plain {wall['plain'] * 1e3:.0f} ms, "
            f"pool {wall['pool'] * 1e3:.0f} ms ({wall['pool'] / wall['jit']:.2f}x jit), "
            f"dask {wall['dask'] * 1e3:.0f} ms ({wall['dask'] / wall['jit']:.2f}x jit); "
            f"efficiency jit {critical / wall['jit']:.2f}, pool {critical / wall['pool']:.2f}, "
            f"dask {critical / wall['dask']:.2f}")
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
