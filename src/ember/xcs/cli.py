"""``ember-xcs``: the demo, ``explain`` for any function, and a quick benchmark.

Commands:
    demo     an ensemble + judge pipeline on the simulated provider, plain vs @jit
    explain  run ``module:function`` under @jit with JSON arguments and explain it
    bench    jit vs plain on the standard DAG shapes (fan-out, diamond, ...)
    cache    the persistent result cache: where it is, what it holds, clear it
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_MEMBERS = ("simulated/alpha", "simulated/beta", "simulated/gamma", "simulated/delta",
            "simulated/epsilon")
_QUESTIONS = (
    "Which material would you build a lighthouse from?",
    "Name a good codename for a data pipeline.",
    "What should we call the new search feature?",
)


def _pipeline(latency: float) -> Any:
    from ember.api.models import models
    from ember.api.operators import Ensemble, Judge

    ensemble = Ensemble([models.instance(m, latency=latency) for m in _MEMBERS])
    judge = Judge(models.instance("simulated/judge", latency=latency))

    def answer_all(questions: Sequence[str]) -> list[dict[str, Any]]:
        results = []
        for question in questions:
            drafts = ensemble(question)
            results.append({"question": question, "best": judge(question, drafts)})
        return results

    return answer_all


def _demo(args: argparse.Namespace) -> int:
    from ember.xcs import Config, explain, get_jit_stats, jit
    from ember.xcs.timeline import render_timeline_text, save_timeline

    questions = list(_QUESTIONS[: args.questions]) if args.questions <= len(_QUESTIONS) else [
        f"Question number {i}?" for i in range(args.questions)
    ]
    answer_all = _pipeline(args.latency)
    calls = len(questions) * (len(_MEMBERS) + 1)
    print("Ember XCS demo — models are SIMULATED (provider 'simulated', no network).")
    print(f"{len(questions)} questions x ({len(_MEMBERS)}-model ensemble + judge) = {calls} "
          f"model calls of {args.latency * 1000:.0f} ms each\n")

    started = time.perf_counter()
    plain = answer_all(questions)
    plain_time = time.perf_counter() - started
    fast = jit(answer_all, config=Config(profile=True))
    started = time.perf_counter()
    jitted = fast(questions)
    jit_time = time.perf_counter() - started

    for row in jitted:
        print(f"  Q: {row['question']}\n     best: {row['best']}")
    same = "identical" if plain == jitted else "DIFFERENT (please report this)"
    print(f"\nplain Python: {plain_time * 1000:8.1f} ms")
    print(f"@jit        : {jit_time * 1000:8.1f} ms   ({plain_time / jit_time:.1f}x faster, "
          f"results {same})\n")
    print(explain(fast))
    stats = get_jit_stats(fast)
    timings = stats.get("node_timings", [])
    if timings:
        print("\ntimeline (first call):")
        print(render_timeline_text(timings, width=60))
    if args.timeline:
        save_timeline(timings, args.timeline)
        print(f"\ntimeline image written to {args.timeline}")
    return 0 if plain == jitted else 1


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise SystemExit(f"explain: expected module:function, got {target!r}")
    sys.path.insert(0, ".")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _explain(args: argparse.Namespace) -> int:
    from ember.xcs import explain

    function = _load(args.target)
    values = [json.loads(raw) for raw in args.args]
    print(explain(function, *values))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ember.xcs import get_jit_stats, jit
    from ember.xcs.shapes import SHAPES, make_op

    call = make_op(args.latency)
    print(f"op latency {args.latency * 1000:.0f} ms; efficiency = critical path / wall time")
    print(f"{'shape':16} {'ops':>4} {'plain ms':>10} {'jit ms':>9} {'speedup':>8} "
          f"{'efficiency':>11}")
    for shape in SHAPES.values():
        program = shape.build(call)
        started = time.perf_counter()
        program()
        plain = time.perf_counter() - started
        fast = jit(program)
        walls = []
        efficiencies = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            fast()
            walls.append(time.perf_counter() - started)
            efficiencies.append(get_jit_stats(fast)["efficiency"])
        best = min(walls)
        efficiency = efficiencies[walls.index(best)]
        print(f"{shape.name:16} {shape.op_calls:>4} {plain * 1000:>10.1f} {best * 1000:>9.1f} "
              f"{plain / best:>7.1f}x {efficiency:>11.2f}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ember.xcs.cache import SQLiteStore, default_path

    path = Path(args.file) if args.file else default_path()
    if args.action == "path":
        print(path)
        return 0
    store = SQLiteStore(path)
    if args.action == "clear":
        removed = store.clear(args.op)
        which = f" of op {args.op}" if args.op else ""
        print(f"removed {removed} cached result(s){which} from {path}")
        return 0
    summary = store.summary()
    on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    print(f"result cache: {path}")
    print(f"  entries: {summary.entries}; stored values {summary.value_bytes / 1024:.1f} KiB; "
          f"file size {on_disk / 1024:.1f} KiB")
    for op_name, count in sorted(summary.by_op.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:8d}  {op_name}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ember-xcs`` console script."""
    parser = argparse.ArgumentParser(prog="ember-xcs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="compound AI pipeline, plain vs @jit")
    demo.add_argument("--questions", type=int, default=3)
    demo.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    demo.add_argument("--timeline", metavar="PATH", help="write the timeline as an image")
    demo.set_defaults(run=_demo)
    explain = commands.add_parser("explain", help="explain module:function on JSON args")
    explain.add_argument("target")
    explain.add_argument("args", nargs="*")
    explain.set_defaults(run=_explain)
    bench = commands.add_parser("bench", help="jit vs plain on standard DAG shapes")
    bench.add_argument("--latency", type=float, default=0.05)
    bench.add_argument("--repeat", type=int, default=3)
    bench.set_defaults(run=_bench)
    cache = commands.add_parser("cache", help="the persistent result cache (path, stats, clear)")
    cache.add_argument("action", choices=("path", "stats", "clear"),
                       help="path: print where the store is; stats: entries per op and "
                            "size; clear: delete entries")
    cache.add_argument("--file", metavar="PATH",
                       help="the store's file (default: $EMBER_XCS_CACHE, else "
                            "~/.cache/ember-xcs/results.sqlite)")
    cache.add_argument("--op", metavar="NAME", help="with clear: only the results of this op")
    cache.set_defaults(run=_cache)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
