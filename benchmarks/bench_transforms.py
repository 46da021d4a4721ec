"""Transforms benchmark: XCS on tensor code versus JAX itself, after warm-up.

Prints, from one run, time ratios (XCS / JAX; target <= 1.2 each):
  1. ``@jit`` on a jnp function versus ``jax.jit`` (per call, small arrays, so the
     dispatch overhead is what is measured);
  2. ``vmap`` over 1,000 jnp rows versus ``jax.vmap`` (eager), and
     ``jit(vmap(f))`` versus ``jax.jit(jax.vmap(f))``.

Each pair is timed in alternating rounds (XCS, JAX, XCS, JAX, ...) so that machine
noise hits both alike. As with ``timeit``, the best round of each is its cost (noise
only ever adds time); the ratio is best XCS / best JAX, and the median-round ratio is
printed next to it.

Run: python benchmarks/bench_transforms.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ember.xcs import get_jit_stats, jit, scan, vmap

TARGET = 1.2


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def compare(ours: Callable[[], Any], theirs: Callable[[], Any], calls: int,
            rounds: int) -> tuple[float, float, float]:
    """Best per-call seconds of each, and the median of the per-round ratios."""
    for fn in (ours, theirs):  # warm-up: compile, fill caches
        for _ in range(3):
            jax.block_until_ready(fn())
    ours_times, theirs_times = [], []
    for _ in range(rounds):
        ours_times.append(_per_call(ours, calls))
        theirs_times.append(_per_call(theirs, calls))
    ratios = [a / b for a, b in zip(ours_times, theirs_times)]
    return min(ours_times), min(theirs_times), statistics.median(ratios)


def _report(label: str, ours: float, theirs: float, median_ratio: float) -> bool:
    ratio = ours / theirs
    ok = ratio <= TARGET
    print(f"{label:<48} xcs {ours * 1e6:8.1f} us  jax {theirs * 1e6:8.1f} us  "
          f"ratio {ratio:4.2f}x (median round {median_ratio:4.2f}x; target <= {TARGET}x) "
          f"{'OK' if ok else 'MISSED'}")
    return ok


def dense(x: Any) -> Any:
    return jnp.tanh(x) * 2.0 + 1.0


def row_score(row: Any) -> Any:
    return jnp.dot(row, row) + jnp.sum(jnp.tanh(row))


def accumulate(carry: Any, x: Any) -> Any:
    total = carry + jnp.tanh(x)
    return total, total


SCAN_TARGET = 1.5  # issue 13: eager scan <= 1.5x jax.lax.scan


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    scale = 1 if args.quick else 4

    x = jnp.ones((8,))
    ours_jit, theirs_jit = jit(dense), jax.jit(dense)
    results = [_report("@jit(f) vs jax.jit(f), 8 floats", *compare(
        lambda: ours_jit(x), lambda: theirs_jit(x), 2000 * scale, rounds))]
    mode = get_jit_stats(ours_jit)["mode"]

    rows = jnp.ones((1000, 16))
    ours_vmap, theirs_vmap = vmap(row_score), jax.vmap(row_score)
    results.append(_report("vmap(f) vs jax.vmap(f), 1000 rows (eager)", *compare(
        lambda: ours_vmap(rows), lambda: theirs_vmap(rows), 20 * scale, rounds)))
    ours_both, theirs_both = jit(vmap(row_score)), jax.jit(jax.vmap(row_score))
    results.append(_report("jit(vmap(f)) vs jax.jit(jax.vmap(f)), 1000 rows", *compare(
        lambda: ours_both(rows), lambda: theirs_both(rows), 500 * scale, rounds)))
    xs = jnp.ones((64, 8))
    init = jnp.zeros(8)
    ours, theirs, median_ratio = compare(lambda: scan(accumulate, init, xs),
                                         lambda: jax.lax.scan(accumulate, init, xs),
                                         200 * scale, rounds)
    scan_ratio = ours / theirs
    scan_ok = scan_ratio <= SCAN_TARGET
    print(f"{'scan(f) vs jax.lax.scan(f), 64 steps (eager)':<48} xcs {ours * 1e6:8.1f} us  "
          f"jax {theirs * 1e6:8.1f} us  ratio {scan_ratio:4.2f}x (median round "
          f"{median_ratio:4.2f}x; target <= {SCAN_TARGET}x) {'OK' if scan_ok else 'MISSED'}")
    results.append(scan_ok)
    print(f"jit mode chosen for the jnp function: {mode!r}")
    return 0 if all(results) else 3  # 3: a target was missed (see run_all.py)


if __name__ == "__main__":
    raise SystemExit(main())
