"""Transforms benchmark: XCS on tensor code versus JAX itself, after warm-up.

Prints one table, from one run, of time ratios XCS / JAX per call (lower is better):

1. ``@jit`` on a small jnp function versus ``jax.jit`` (8 floats, so the dispatch
   overhead is what is measured; target <= 1.05x, issue 13), with a bare forwarding
   wrapper around ``jax.jit`` beside it (the floor of any Python-level callable);
2. eager ``scan`` of a small step over 64 rows versus ``jax.lax.scan`` (target
   <= 1.5x, issue 13);
3. ``vmap`` over 1,000 jnp rows versus ``jax.vmap`` (eager), and ``jit(vmap(f))``
   versus ``jax.jit(jax.vmap(f))`` (target <= 1.2x each).

Both sides get the same warm-up (3 calls: compile, fill caches) and the same number of
timed rounds, interleaved (XCS, JAX, XCS, JAX, ...) so that machine noise hits both
alike; a round is the mean of many back-to-back calls, and the median round counts.

Run: python benchmarks/bench_transforms.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from _harness import Report, check_equal, per_call

from ember.xcs import get_jit_stats, jit, scan, vmap


def compare(ours: Callable[[], Any], theirs: Callable[[], Any], calls: int, rounds: int,
            *others: Callable[[], Any]) -> list[float]:
    """Median per-call seconds of each side (ours, theirs, then others) over
    interleaved rounds."""
    sides = (ours, theirs, *others)
    for fn in sides:  # warm-up: compile, fill caches
        for _ in range(3):
            jax.block_until_ready(fn())
    for fn in (ours, *others):
        check_equal("XCS against JAX",
                    jax.numpy.allclose(_leaves(fn()), _leaves(theirs())).item(), True)
    times: list[list[float]] = [[] for _ in sides]
    for _ in range(rounds):
        for fn, samples in zip(sides, times):
            samples.append(per_call(lambda fn=fn: jax.block_until_ready(fn()), calls))
    return [statistics.median(samples) for samples in times]


class Forward:
    """The least a Python-level callable object can add to ``jax.jit``: forward the call.

    Measured beside ``@jit`` as the floor of any wrapper (``@jit`` must also check which
    path a call takes and count it).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)


def _leaves(tree: Any) -> Any:
    return jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree_util.tree_leaves(tree)])


def _row(report: Report, label: str, bound: float, ours: float, theirs: float) -> None:
    report.at_most(label, ours / theirs, bound, "x", "JAX",
                   f"xcs {ours * 1e6:.1f} us, jax {theirs * 1e6:.1f} us per call")


def dense(x: Any) -> Any:
    return jnp.tanh(x) * 2.0 + 1.0


def row_score(row: Any) -> Any:
    return jnp.dot(row, row) + jnp.sum(jnp.tanh(row))


def accumulate(carry: Any, x: Any) -> Any:
    total = carry + jnp.tanh(x)
    return total, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    scale = 1 if args.quick else 4
    report = Report("bench_transforms: XCS transforms on tensor code against JAX",
                    f"each side: 3 warm-up calls, then {rounds} interleaved rounds of "
                    "back-to-back calls, median round; ratio = XCS / JAX")

    x = jnp.ones((8,))
    ours_jit, theirs_jit, forward = jit(dense), jax.jit(dense), Forward(jax.jit(dense))
    ours, theirs, floor = compare(lambda: ours_jit(x), lambda: theirs_jit(x), 2000 * scale,
                                  rounds, lambda: forward(x))
    _row(report, "@jit(f) vs jax.jit(f), 8 floats", 1.05, ours, theirs)
    report.info("a bare forwarding wrapper vs jax.jit(f), 8 floats", f"{floor / theirs:.3g}x",
                f"{floor * 1e6:.1f} us per call: the floor of any Python-level wrapper")
    mode = get_jit_stats(ours_jit)["mode"]

    init, xs = jnp.zeros(8), jnp.ones((64, 8))
    _row(report, "scan(f) eager vs jax.lax.scan(f), 64 steps", 1.5,
         *compare(lambda: scan(accumulate, init, xs),
                  lambda: jax.lax.scan(accumulate, init, xs), 200 * scale, rounds)[:2])

    rows = jnp.ones((1000, 16))
    ours_vmap, theirs_vmap = vmap(row_score), jax.vmap(row_score)
    _row(report, "vmap(f) vs jax.vmap(f), 1000 rows (eager)", 1.2,
         *compare(lambda: ours_vmap(rows), lambda: theirs_vmap(rows), 20 * scale, rounds)[:2])
    ours_both, theirs_both = jit(vmap(row_score)), jax.jit(jax.vmap(row_score))
    _row(report, "jit(vmap(f)) vs jax.jit(jax.vmap(f)), 1000 rows", 1.2,
         *compare(lambda: ours_both(rows), lambda: theirs_both(rows), 500 * scale,
                  rounds)[:2])
    report.info("jit mode chosen for the jnp function", repr(mode))
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
