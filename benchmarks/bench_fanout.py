"""Engine benchmark (issue 13): wide fan-outs, idle pauses, per-op cost, long calls.

Plain user code under ``@jit`` with the default ``Config``, against the expert version
of the same program measured in the same run; every ratio is XCS / peer (lower is
better) from medians of interleaved timed calls after the same warm-up. Prints one table:

1. Fan-out of N ops of 10 ms + a join op, N = 1,000 and 5,000:
   a. ``async def`` ops vs ``asyncio.gather`` of the same coroutines (target <= 1.3x);
   b. ``models("simulated/m", ..., latency=0.01)`` vs an asyncio ideal, which awaits
      ``asyncio.sleep(0.01)`` per call and returns the same text (target <= 1.3x);
   c. blocking ``time.sleep`` ops vs a warm 256-thread ``ThreadPoolExecutor``
      (target <= 1.15x).
   N = 20,000 runs in a fresh process per side (async ops only with ``--quick``): it
   must complete with the right result; wall time and peak RSS are reported.
2. Idle pause: the five 50 ms DAG workloads (fan-out-64, diamond, ensemble+judge,
   map-reduce, two-stage), each timed call following a 3 s pause; efficiency =
   critical path / wall (target >= 0.97). ``bench_core.py`` has the same, warm.
3. Per-op cost at zero latency: a fan-out of 1,000 ops + a join and a chain of 1,000
   dependent ops, wall / ops, vs ``dask.delayed`` on the threaded scheduler (targets:
   <= 8 us per op, and Dask's cost per op >= 20x XCS's).
4. A chain of 20 dependent 1 ms ops vs plain Python (target <= 1.1x).
5. Calls of 100,000 zero-latency ops (+ a join), in a fresh process: the slowest
   later call's cost per op vs the first call's (target <= 1.2x; 2 later calls, 1
   with ``--quick``), and ``get_jit_stats`` after them (target < 50 ms); cost per op
   and peak RSS are reported.

The jitted programs are written with ``for`` loops, the plainest form of a fan-out;
the other forms users write (comprehensions, f-strings, ``json.loads`` of each reply)
are measured in ``bench_semantics.py``. Every result is checked against plain Python's.

Run: python benchmarks/bench_fanout.py [--quick] [--only SECTION ...] (sections:
fan-out, huge, pause, per-op, chain, long-call; default: all, in this order)
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import Report, check_equal, compare, fail, op_latency, peak_rss_mb, timed

from ember.api.models import models
from ember.testing.shapes import SHAPES, make_op
from ember.xcs import get_jit_stats, jit, op

FAN_LATENCY = 0.01
PAUSE = 3.0
DAG_LATENCY = 0.05
DAG_WORKLOADS = ("fan-out-64", "diamond", "ensemble+judge", "map-reduce", "two-stage")
THREADS = 256
MODEL = "simulated/m"


# -- the ops and programs --------------------------------------------------------------


async def _sleep_then(value: Any, seconds: float = FAN_LATENCY) -> Any:
    await asyncio.sleep(seconds)
    return value


@op
async def fetch(i: int) -> int:
    """An ``async def`` op: 10 ms of awaiting, then its input back."""
    return int(await _sleep_then(i))


def _blocking_body(i: int) -> int:
    time.sleep(FAN_LATENCY)
    return i


block = op(_blocking_body, name="block")


@op
def join(*parts: Any) -> int:
    """The join of every fan-out: sums ints, or the lengths of texts."""
    return sum(len(part) if isinstance(part, str) else part for part in parts)


@op
def zero(*inputs: Any) -> int:
    return len(inputs)


def _prompt(i: int) -> str:
    return f"Summarise document {i}."


def fan_out(call: Callable[[int], Any], n: int, joined: Callable[..., int] = join) -> int:
    """``n`` independent calls, then one op that joins them: plain user code."""
    parts = []
    for i in range(n):
        parts.append(call(i))
    return joined(*parts)


def ask(i: int) -> Any:
    return models(MODEL, _prompt(i), latency=FAN_LATENCY)


def async_fan(n: int) -> int:
    return fan_out(fetch, n)


def model_fan(n: int) -> int:
    return fan_out(ask, n)


def blocking_fan(n: int) -> int:
    return fan_out(block, n)


def zero_fan(n: int) -> int:
    return fan_out(zero, n, joined=zero)


def zero_chain(n: int) -> int:
    value = 0
    for _ in range(n):
        value = zero(value)
    return value


def sleep_chain(n: int, call: Callable[[str, Any], Any]) -> Any:
    value: Any = "start"
    for step in range(n):
        value = call(f"step{step}", value)
    return value


# -- the peers ---------------------------------------------------------------------------


def gather_fan(n: int) -> int:
    async def main() -> int:
        return sum(await asyncio.gather(*(_sleep_then(i) for i in range(n))))

    return asyncio.run(main())


def model_ideal(texts: list[str]) -> Callable[[], int]:
    """N awaits of 10 ms returning the provider's texts: no provider, no engine."""

    def run() -> int:
        async def main() -> int:
            replies = await asyncio.gather(*(_sleep_then(text) for text in texts))
            return sum(len(reply) for reply in replies)

        return asyncio.run(main())

    return run


def pool_fan(pool: concurrent.futures.Executor, n: int) -> int:
    futures = [pool.submit(_blocking_body, i) for i in range(n)]
    return sum(future.result() for future in futures)


# -- sections ----------------------------------------------------------------------------


def fan_outs(report: Report, sizes: tuple[int, ...], repeats: int) -> None:
    jit_async, jit_model, jit_blocking = jit(async_fan), jit(model_fan), jit(blocking_fan)
    with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
        for n in sizes:
            texts = [str(models(MODEL, _prompt(i), latency=0)) for i in range(n)]
            cases: list[tuple[str, Callable[[], int], str, Callable[[], int], float, int]] = [
                ("async def ops", lambda n=n: jit_async(n), "asyncio.gather",
                 lambda n=n: gather_fan(n), 1.3, sum(range(n))),
                ("simulated model calls", lambda n=n: jit_model(n), "asyncio ideal",
                 model_ideal(texts), 1.3, sum(len(text) for text in texts)),
                ("blocking time.sleep ops", lambda n=n: jit_blocking(n),
                 f"{THREADS}-thread pool", lambda n=n: pool_fan(pool, n), 1.15, sum(range(n))),
            ]
            for kind, ours, peer_name, peer, bound, expected in cases:
                timings, values = compare({"jit": ours, "peer": peer}, warmup=1,
                                          repeats=repeats)
                for side in ("jit", "peer"):
                    check_equal(f"fan-out of {n} {kind} ({side})", values[side], expected)
                jitted, theirs = timings["jit"].median, timings["peer"].median
                report.at_most(f"fan-out {n:,} x 10 ms {kind}", jitted / theirs, bound, "x",
                               f"{peer_name}",
                               f"jit {jitted * 1e3:.0f} ms, {peer_name} {theirs * 1e3:.0f} ms")


def _child(kind: str, n: int) -> dict[str, Any]:
    """Run one big case in this (fresh) process; what the parent prints."""
    if kind == "async-jit":
        seconds, value = timed(lambda: jit(async_fan)(n))
        expected: Any = sum(range(n))
    elif kind == "async-gather":
        seconds, value = timed(lambda: gather_fan(n))
        expected = sum(range(n))
    elif kind == "model-jit":
        seconds, value = timed(lambda: jit(model_fan)(n))
        expected = sum(len(str(models(MODEL, _prompt(i), latency=0))) for i in range(n))
    elif kind == "blocking-jit":
        seconds, value = timed(lambda: jit(blocking_fan)(n))
        expected = sum(range(n))
    elif kind == "blocking-pool":
        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            seconds, value = timed(lambda: pool_fan(pool, n))
        expected = sum(range(n))
    elif kind.startswith("long-call-"):
        return _long_call(n, int(kind.rsplit("-", 1)[1]))
    else:
        raise SystemExit(f"unknown child case {kind!r}")
    return {"wall": seconds, "rss": peak_rss_mb(), "correct": value == expected}


def _long_call(n: int, calls: int) -> dict[str, Any]:
    fast = jit(zero_fan)
    walls = []
    for _ in range(calls):
        seconds, value = timed(lambda: fast(n))
        if value != n:
            return {"correct": False}
        walls.append(seconds)
    stats_seconds, _ = timed(lambda: get_jit_stats(fast))
    return {"walls": walls, "stats": stats_seconds, "rss": peak_rss_mb(), "correct": True}


def _in_child(kind: str, n: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__)), "--child", kind, str(n)],
                          capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        fail(f"{kind} with {n:,} ops crashed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["correct"]:
        fail(f"{kind} with {n:,} ops returned a wrong result")
    return result


def huge_fan_outs(report: Report, quick: bool) -> None:
    n = 20_000
    pairs = [("async def ops", "async-jit", "asyncio.gather", "async-gather")]
    if not quick:
        pairs += [("simulated model calls", "model-jit", None, None),
                  ("blocking time.sleep ops", "blocking-jit", f"{THREADS}-thread pool",
                   "blocking-pool")]
    for kind, ours, peer_name, peer in pairs:
        mine = _in_child(ours, n)
        detail = f"jit {mine['wall']:.2f} s, peak RSS {mine['rss']:.0f} MiB"
        if peer is not None:
            theirs = _in_child(peer, n)
            detail += (f"; {peer_name} {theirs['wall']:.2f} s, peak RSS "
                       f"{theirs['rss']:.0f} MiB (ratio {mine['wall'] / theirs['wall']:.1f}x)")
        report.info(f"fan-out {n:,} x 10 ms {kind}", "correct", detail,
                    target="completes correctly")


def idle_pause(report: Report, repeats: int) -> None:
    op_call = make_op(DAG_LATENCY)
    one_op = op_latency(op_call)
    for name in DAG_WORKLOADS:
        shape = SHAPES[name]
        expected = shape.build(make_op(0.0))()
        timings, values = compare({"jit": jit(shape.build(op_call))}, warmup=1,
                                  repeats=repeats, before_each=lambda: time.sleep(PAUSE))
        check_equal(f"{name} after a pause", values["jit"], expected)
        wall = timings["jit"].median
        critical = shape.critical_path_calls * one_op
        report.at_least(f"{name}, 50 ms ops, after {PAUSE:g} s idle", critical / wall, 0.97,
                        "", "efficiency",
                        f"critical path {critical * 1e3:.1f} ms / wall {wall * 1e3:.1f} ms")


def per_op_cost(report: Report, repeats: int) -> None:
    import dask

    n = 1000
    delayed_zero = dask.delayed(zero.fn, pure=False)

    def dask_fan() -> int:
        return int(dask.compute(delayed_zero(*[delayed_zero(i) for i in range(n)]),
                                scheduler="threads")[0])

    def dask_chain() -> int:
        value: Any = 0
        for _ in range(n):
            value = delayed_zero(value)
        return int(dask.compute(value, scheduler="threads")[0])

    shapes = [("fan-out", zero_fan, dask_fan, n + 1), ("chain", zero_chain, dask_chain, n)]
    for name, program, dasked, ops in shapes:
        fast = jit(program)
        timings, values = compare({"plain": lambda p=program: p(n), "jit": lambda f=fast: f(n),
                                   "dask": dasked}, warmup=1, repeats=repeats)
        for side in ("jit", "dask"):
            check_equal(f"{name} of {n} zero-latency ops ({side})", values[side],
                        values["plain"])
        plain, ours, theirs = (timings[side].median / ops * 1e6
                               for side in ("plain", "jit", "dask"))
        report.at_most(f"{name} of {n:,} zero-latency ops, per op", ours, 8, " us", "",
                       f"jit {ours:.1f} us/op, plain {plain:.2f} us/op")
        report.at_least(f"{name} of {n:,} zero-latency ops, Dask / XCS", theirs / ours, 20,
                        "x", "Dask delayed per op",
                        f"Dask delayed (threads) {theirs:.1f} us/op")


def short_chain(report: Report, repeats: int) -> None:
    call = make_op(0.001)
    fast = jit(lambda: sleep_chain(20, call))
    timings, values = compare({"plain": lambda: sleep_chain(20, call), "jit": fast},
                              warmup=1, repeats=repeats)
    check_equal("chain of 20 ops of 1 ms", values["jit"], values["plain"])
    plain, ours = timings["plain"].median, timings["jit"].median
    report.at_most("chain of 20 dependent 1 ms ops", ours / plain, 1.1, "x", "plain Python",
                   f"jit {ours * 1e3:.1f} ms, plain {plain * 1e3:.1f} ms")


def long_call(report: Report, calls: int) -> None:
    n = 100_000
    result = _in_child(f"long-call-{calls}", n)
    first, *later = (wall / n * 1e6 for wall in result["walls"])
    worst = max(later)
    report.at_most(f"one call of {n:,} zero-latency ops: later / first call", worst / first,
                   1.2, "x", "per op",
                   f"first {first:.1f} us/op, later {', '.join(f'{x:.1f}' for x in later)} "
                   f"us/op, peak RSS {result['rss']:.0f} MiB")
    report.at_most(f"get_jit_stats after {n:,}-op calls", result["stats"] * 1e3, 50, " ms", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable; default: all of them)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]))))
        return 0
    repeats = 3 if args.quick else 5
    report = Report("bench_fanout: the engine against asyncio, a thread pool and Dask",
                    f"default Config; every side: 1 warm-up call, then {repeats} timed calls, "
                    f"interleaved, median (idle pause: {1 if args.quick else 3} timed calls); "
                    "ratios are XCS / peer")
    sections: dict[str, Callable[[], None]] = {
        "fan-out": lambda: fan_outs(report, (1000, 5000), repeats),
        "huge": lambda: huge_fan_outs(report, args.quick),
        "pause": lambda: idle_pause(report, 1 if args.quick else 3),
        "per-op": lambda: per_op_cost(report, repeats),
        "chain": lambda: short_chain(report, repeats),
        "long-call": lambda: long_call(report, 2 if args.quick else 3),
    }
    for name in SECTIONS:
        if not args.only or name in args.only:
            sections[name]()
    return report.finish()


SECTIONS = ("fan-out", "huge", "pause", "per-op", "chain", "long-call")  # in docstring order


if __name__ == "__main__":
    raise SystemExit(main())
