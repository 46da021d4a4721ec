"""DAG shapes, four ways: plain Python, @jit, a hand-written thread pool, Dask delayed.

The programs are the standard shapes of ``ember.xcs.shapes`` (fan-out-64, diamond,
ensemble+judge, map-reduce, chain), all built on one op that sleeps ``--latency``
seconds. The same shape function runs with a different ``call``:

- plain: the op itself, one call after another;
- jit: ``jit(shape)``, nothing else changed;
- thread pool: what one writes by hand with ``concurrent.futures``: every call is
  submitted at once and waits for its input futures inside the worker (a pool as
  wide as the graph, so that waiting never starves it);
- Dask delayed: ``dask.delayed(op)`` and ``dask.compute(..., scheduler="threads")``.

Prints wall times, jit's speedup over plain and its ratio to the other two, and
efficiency = critical path / wall time for each parallel engine, with the critical
path taken as latency x the longest chain of calls (so sleep overshoot counts against
every engine alike). From one run. A comparison, not a gate: the efficiency target is
checked by bench_core.py against measured op durations; here every engine must only
return plain Python's result.

Run: python benchmarks/bench_shapes.py [--quick] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from ember.xcs import jit
from ember.xcs.shapes import SHAPES, make_op


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


def _best(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    op = make_op(args.latency)
    body = op.fn
    try:
        import dask
    except ImportError:
        dask = None
    print(f"op latency {args.latency * 1000:.0f} ms; best of {repeats}; "
          "efficiency = critical path / wall")
    header = (f"{'shape':15} {'ops':>4} {'plain':>9} {'jit':>8} {'pool':>8} {'dask':>8} "
              f"{'jit vs plain':>13} {'pool/jit':>9} {'dask/jit':>9}  efficiency jit/pool/dask")
    print(header)
    for shape in SHAPES.values():
        critical = shape.critical_path_calls * args.latency
        plain, expected = _best(shape.build(op), 1)
        jitted, result = _best(jit(shape.build(op)), repeats)
        assert result == expected, f"{shape.name}: jit result differs"
        with concurrent.futures.ThreadPoolExecutor(max_workers=shape.op_calls) as pool:
            pooled, result = _best(lambda: _resolve(shape.build(_pool_call(pool, body))()),
                                   repeats)
        assert result == expected, f"{shape.name}: thread-pool result differs"
        dasked = float("nan")
        if dask is not None:
            delayed_call = dask.delayed(body, pure=False)
            graph_fn = shape.build(delayed_call)
            dasked, result = _best(
                lambda: dask.compute(graph_fn(), scheduler="threads",
                                     num_workers=shape.op_calls)[0], repeats)
            assert result == expected, f"{shape.name}: dask result differs"
        print(f"{shape.name:15} {shape.op_calls:>4} {plain * 1000:>7.0f}ms {jitted * 1000:>6.0f}ms "
              f"{pooled * 1000:>6.0f}ms {dasked * 1000:>6.0f}ms {plain / jitted:>12.1f}x "
              f"{pooled / jitted:>8.2f}x {dasked / jitted:>8.2f}x  "
              f"{critical / jitted:.2f}/{critical / pooled:.2f}/{critical / dasked:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
