"""``ember-xcs``: the demo, ``explain`` for any function, a quick benchmark, the cache.

Commands:
    demo     an ensemble + judge pipeline on the simulated provider, plain vs @jit
    explain  run module:function under @jit with JSON arguments and explain it
    bench    jit vs plain on the standard DAG shapes (fan-out, diamond, ...)
    cache    the persistent result cache: where it is, what it holds, clear it

Every mistake in a command line is reported on one line, with the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ember.xcs._cli_target import UsageError, json_argument, load_target

__all__ = ["main"]

_DESCRIPTION = """\
Ember XCS: make compound AI programs fast without making them different.

commands:
  demo     an ensemble + judge pipeline on the simulated provider, plain vs @jit
  explain  run module:function under @jit with JSON arguments and explain it
  bench    jit vs plain on the standard DAG shapes (fan-out, diamond, ...)
  cache    the persistent result cache: where it is, what it holds, clear it

Run 'ember-xcs COMMAND --help' for the options of a command."""

_MEMBERS = ("simulated/alpha", "simulated/beta", "simulated/gamma", "simulated/delta",
            "simulated/epsilon")
_QUESTIONS = (
    "Which material would you build a lighthouse from?",
    "Name a good codename for a data pipeline.",
    "What should we call the new search feature?",
)


_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse, with one-line errors: ``ember-xcs demo: error: ... (see --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- argument types: each refuses a bad value with a message naming the fix ----------


def _non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or value > 60:
        raise argparse.ArgumentTypeError(
            f"expected seconds between 0 and 60, got {text} (e.g. 0.2)"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


# -- demo ------------------------------------------------------------------------------


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
    from ember.xcs import Config, explain, jit
    from ember.xcs.errors import XCSError
    from ember.xcs.timeline import Timeline, check_image_path

    if args.timeline:  # before the demo runs, not after
        try:
            check_image_path(Path(args.timeline))
        except XCSError as error:
            raise UsageError(f"--timeline: {error}") from None
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
    # The plain run above was measured: the timeline compares the jitted call with it.
    timeline = dataclasses.replace(Timeline.of(fast), plain_ms=plain_time * 1000)
    print("\ntimeline (first call):")
    print(timeline.text(width=60))
    if args.timeline:
        timeline.save(args.timeline)
        print(f"\ntimeline image written to {args.timeline}")
    return 0 if plain == jitted else 1


# -- explain ---------------------------------------------------------------------------


def _explain(args: argparse.Namespace) -> int:
    from ember.xcs import JitFunction, explain, jit
    from ember.xcs.api.awaiting import finish

    values = [json_argument(number, raw) for number, raw in enumerate(args.args, 1)]
    function = load_target(args.target)
    try:
        if values:
            report = explain(function, *values)
        else:  # no arguments: call it once with none, jitted, and explain that call
            jitted = function if isinstance(function, JitFunction) else jit(function)
            finish(jitted())  # an async def's call runs to its end
            report = explain(jitted)
    except Exception as error:
        if args.traceback:
            raise
        raise UsageError(
            f"{args.target} raised {type(error).__name__}: {error} (add --traceback to see "
            "where)"
        ) from None
    print(report)
    return 0


# -- bench -----------------------------------------------------------------------------


def _bench(args: argparse.Namespace) -> int:
    import statistics

    from ember.testing.shapes import SHAPES, make_op
    from ember.xcs import jit

    call = make_op(args.latency)
    print(f"op latency {args.latency * 1000:.0f} ms; plain and jit: 1 warm-up call, then "
          f"{args.repeat} timed calls each, interleaved; median wall time; efficiency = "
          "critical path (latency x longest chain of calls) / jit wall time")
    print(f"{'shape':16} {'ops':>4} {'plain ms':>10} {'jit ms':>9} {'speedup':>8} "
          f"{'efficiency':>11}")
    for shape in SHAPES.values():
        plain_fn = shape.build(call)
        jit_fn = jit(plain_fn)
        walls: dict[str, list[float]] = {"plain": [], "jit": []}
        plain_fn(), jit_fn()  # warm-up, the same for both
        for _ in range(args.repeat):
            for side, fn in (("plain", plain_fn), ("jit", jit_fn)):
                started = time.perf_counter()
                fn()
                walls[side].append(time.perf_counter() - started)
        plain, fast = (statistics.median(walls[side]) for side in ("plain", "jit"))
        efficiency = shape.critical_path_calls * args.latency / fast
        print(f"{shape.name:16} {shape.op_calls:>4} {plain * 1000:>10.1f} {fast * 1000:>9.1f} "
              f"{plain / fast:>7.1f}x {efficiency:>11.2f}")
    return 0


# -- cache -----------------------------------------------------------------------------


def _cache(args: argparse.Namespace) -> int:
    from ember.xcs.cache import SQLiteStore, default_path
    from ember.xcs.errors import XCSError

    path = Path(args.file) if args.file else default_path()
    if args.action == "path":
        print(path)
        return 0
    if args.op and args.action != "clear":
        raise UsageError("--op only applies to 'cache clear'")
    given = "--file" if args.file else "$EMBER_XCS_CACHE" \
        if os.environ.get("EMBER_XCS_CACHE", "").strip() else "the default store"
    fix = "give the store's file with --file PATH or $EMBER_XCS_CACHE"
    if path.is_dir():
        raise UsageError(f"{given} {path} is a directory; {fix}")
    store = SQLiteStore(path)
    try:
        if args.action == "clear":
            removed = store.clear(args.op)
            which = f" of op {args.op}" if args.op else ""
            print(f"removed {removed} cached result(s){which} from {path}")
            return 0
        summary = store.summary()
    except XCSError as error:  # not a store, or one that cannot be opened
        cause = error.__cause__ or error
        raise UsageError(f"{given} {path} cannot be used as the result cache ({cause}); "
                         f"{fix}, or delete that file if it is a damaged store") from None
    on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    print(f"result cache: {path}")
    print(f"  entries: {summary.entries}; stored values {summary.value_bytes / 1024:.1f} KiB; "
          f"file size {on_disk / 1024:.1f} KiB")
    for op_name, count in sorted(summary.by_op.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:8d}  {op_name}")
    return 0


# -- the parser ------------------------------------------------------------------------


def _version() -> str:
    import ember

    version: str = ember.__version__
    return version


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ember-xcs", description=_DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ember-xcs {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    demo = commands.add_parser(
        "demo", help="compound AI pipeline on simulated models, plain vs @jit",
        description="Run an ensemble + judge pipeline on the simulated model provider, "
                    "first as plain Python, then under @jit; print both times, the IR, "
                    "the parallel groups and a timeline.")
    demo.add_argument("--questions", type=_positive_int, default=3, metavar="N",
                      help="how many questions to answer (default: 3)")
    demo.add_argument("--latency", type=_non_negative_seconds, default=0.2, metavar="SECONDS",
                      help="simulated seconds per model call, 0 to 60 (default: 0.2)")
    demo.add_argument("--timeline", metavar="PATH",
                      help="also draw the timeline into this image (.png, .svg, .pdf; needs "
                           "matplotlib: pip install 'ember-xcs[plot]')")
    demo.set_defaults(run=_demo, parser=demo)

    explain = commands.add_parser(
        "explain", help="run module:function under @jit and explain what ran in parallel",
        description="Import a function, call it once under @jit with the given arguments "
                    "and print explain(): the IR, parallel groups, critical path, barriers "
                    "and fallbacks. The function really runs (its ops are called).",
        epilog="example: ember-xcs explain pipeline:summarise '\"tidal power\"' 3")
    explain.add_argument("target", metavar="MODULE:FUNCTION",
                         help="the function, e.g. pipeline:summarise (pipeline.py in the "
                              "current directory or on sys.path)")
    explain.add_argument("args", nargs="*", default=[], metavar="JSON",
                         help="positional arguments as JSON values (optional: none calls "
                              "it without arguments): 3, '\"text\"', '[1, 2]', "
                              "'{\"k\": 1}'")
    explain.add_argument("--traceback", action="store_true",
                         help="show the full traceback when the function raises")
    explain.set_defaults(run=_explain, parser=explain)

    bench = commands.add_parser(
        "bench", help="jit vs plain on standard DAG shapes",
        description="Time plain Python and @jit on fan-out, diamond, ensemble+judge, "
                    "map-reduce and chain graphs of sleeping ops.")
    bench.add_argument("--latency", type=_non_negative_seconds, default=0.05, metavar="SECONDS",
                       help="seconds each op sleeps, 0 to 60 (default: 0.05)")
    bench.add_argument("--repeat", type=_positive_int, default=3, metavar="N",
                       help="timed calls per shape and side; the median is reported (default: 3)")
    bench.set_defaults(run=_bench, parser=bench)

    cache = commands.add_parser(
        "cache", help="the persistent result cache (path, stats, clear)",
        description="Inspect or empty the result cache that @op(cache=True) and "
                    "Config(result_cache=...) use.")
    cache.add_argument("action", choices=("path", "stats", "clear"),
                       help="path: print where the store is; stats: entries per op and "
                            "size; clear: delete entries")
    cache.add_argument("--file", metavar="PATH",
                       help="the store's file (default: $EMBER_XCS_CACHE, else "
                            "~/.cache/ember-xcs/results.sqlite)")
    cache.add_argument("--op", metavar="NAME", help="with clear: only the results of this op")
    cache.set_defaults(run=_cache, parser=cache)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ember-xcs`` console script.

    Returns:
        The exit status: 0 on success, 2 for a command line that cannot run (printed on
        one line to stderr), 1 when the demo's results differ, 141 when the reader of
        the output went away (``| head``), as a shell reports a program ended by SIGPIPE.
    """
    args, unknown = _parser().parse_known_args(argv)
    if unknown:  # the command's parser reports it, pointing to the command's --help
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        result: int = args.run(args)
    except UsageError as error:
        print(f"ember-xcs {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away (`ember-xcs demo | head`)
        # Later writes, and the flush at exit, would fail again: send them nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _BROKEN_PIPE
    return result


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
