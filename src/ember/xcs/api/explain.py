"""``explain``: what a jitted function did, in words a person can act on."""

from __future__ import annotations

import builtins
import types
from typing import Any

from ember.xcs.analysis import analyze, critical_path
from ember.xcs.api.records import BarrierRecord
from ember.xcs.api.stats import _stats_of
from ember.xcs.display import ExplainReport
from ember.xcs.errors import XCSError
from ember.xcs.ir.graph import Node, Var
from ember.xcs.ir.render import VarNames, render_text
from ember.xcs.tracing.log import GRAPH_LIMIT

__all__ = ["explain"]

# What to do about a place where the glue waited, by the start of its reason.
_FIXES = (
    ("eager op (try/with)", "a try/with block around an op makes it run at once, so that "
     "`except` sees its error; put the try around one op inside an op of its own"),
    ("eager op (effect)", "effect=True ops run in program order by design"),
    ("eager op (learned", "learned line: see learned barriers below"),
    ("learned", "C code rejected a lazy value here (the tracer could not rewrite this code); "
     "call the function on op results inside an op, or mark it @pure"),
    ("call of", "this function needs real values; if it has no side effects, mark it "
     "@ember.xcs.pure and it runs when its inputs exist instead"),
    ("is", "`is` compares objects, so it needs the real one; `== None` / `!= None` on "
     "op results stays lazy"),
    ("match", "`match` looks inside the value; inherent, and cheap after a fan-out"),
)


def _fix(reason: str) -> str | None:
    if reason.startswith("call of "):
        name = reason.removeprefix("call of ")
        if name.isidentifier() and isinstance(getattr(builtins, name, None),
                                              types.BuiltinFunctionType | type):
            return (f"{name}() reads the real value, so the glue waits here; that costs "
                    "nothing once the ops it could overlap with are issued: keep such "
                    "calls below independent ops, or move them into an op")
    for prefix, fix in _FIXES:
        if reason.startswith(prefix):
            return fix
    return None


def _barrier_lines(barriers: tuple[BarrierRecord, ...]) -> list[str]:
    """Repeated barriers once, with a count; a fix where one exists."""
    grouped: dict[tuple[str, str, str], int] = {}
    for barrier in barriers:
        key = (barrier.reason, str(barrier.location or "<unknown>"), barrier.kind)
        grouped[key] = grouped.get(key, 0) + 1
    lines: list[str] = []
    for (reason, location, kind), count in grouped.items():
        times = f" x{count}" if count > 1 else ""
        lines.append(f"  {reason} at {location} [{kind}]{times}")
        fix = _fix(reason)
        if fix is not None:
            lines.append(f"      fix: {fix}")
    return lines or ["  none"]


def _output(node: Node) -> Var:
    assert node.output is not None, "parallel groups hold op nodes, which have outputs"
    return node.output


def explain(fn: Any, *args: Any, **kwargs: Any) -> ExplainReport:
    """Describe the last call of a jitted function, after running it if given arguments.

    The text has the IR, the parallel groups, the critical path with measured times,
    every place the glue waited (grouped, with file:line, whether it was found in the
    code before it ran — ``static`` — asked for at run time — ``dynamic`` — or
    ``learned``, and what to do about it), learned barriers and fallbacks with their
    reasons. With arguments the function really runs (its ops are called).

    Args:
        fn: a jitted function; a plain function is jitted for the occasion, which
            needs arguments to run it.
        *args: arguments for a fresh call; none to explain the last call.
        **kwargs: keyword arguments for that call.

    Returns:
        A multi-line report: a ``str`` that notebooks show as formatted HTML.

    Raises:
        XCSError: ``fn`` is a plain function and no arguments were given.

    Example:
        >>> from ember.xcs import jit, op
        >>> @op
        ... def inc(x):
        ...     return x + 1
        >>> @jit
        ... def two(x):
        ...     return [inc(x), inc(x)]
        >>> print(explain(two, 1).splitlines()[0])
        explain: two
    """
    from ember.xcs.api.jit import JitFunction, jit

    target = fn
    if not isinstance(target, JitFunction) and getattr(target, "__xcs_jit__", None) is None:
        if not args and not kwargs:
            raise XCSError(
                f"{fn!r} is not a jitted function and has no call to explain; run it with "
                "arguments (explain(f, *args)) or explain a @jit function after calling it."
            )
        target = jit(fn)
    if args or kwargs:
        target(*args, **kwargs)
    stats = _stats_of(target)
    config = getattr(target, "config", None)
    redact = bool(config is not None and config.redact)
    with stats.lock:
        last = stats.last
        fallbacks = list(stats.fallbacks)
        calls = stats.calls
        comparison = stats.comparison
    lines = [f"explain: {stats.name}", f"  calls so far: {calls}", f"  mode: {stats.mode}"]
    if last is None:
        lines.append("  no ops were called on the last call (nothing to parallelise)")
    elif len(last.log) > GRAPH_LIMIT:
        shape = last.log.shape()
        lines.append(f"IR: {len(last.log)} nodes (over {GRAPH_LIMIT}: not printed; "
                     "str(graph) of _stats_of(f).last.graph prints it)")
        lines.append(f"parallel groups ({shape.parallel_groups}, widest "
                     f"{shape.max_parallelism})")
        lines.append(f"critical path: {len(shape.critical_path)} ops = "
                     f"{shape.critical_path_seconds * 1000:.1f} ms measured; wall "
                     f"{last.wall * 1000:.1f} ms; op time added up "
                     f"{shape.op_seconds * 1000:.1f} ms")
        lines.append(f"barriers ({len(last.barriers)}):")
        lines += _barrier_lines(last.barriers)
    else:
        graph = last.graph
        analysis, _ = analyze(graph, cache=config.cache if config is not None else True)
        names = VarNames(graph)
        lines.append("IR:")
        lines += ["  " + line for line in render_text(graph, redact=redact).splitlines()]
        lines.append(f"parallel groups ({analysis.depth}, widest {analysis.width}):")
        for level, group in enumerate(analysis.parallel_groups):
            members = ", ".join(
                f"{names[_output(graph.nodes[i])]}={graph.nodes[i].name}" for i in group
            )
            lines.append(f"  {level}: {members}")
        durations = last.durations
        length, path = critical_path(graph, durations)
        op_time = sum(durations.values())
        lines.append(
            f"critical path: {' -> '.join(graph.nodes[i].name for i in path) or '(none)'} "
            f"= {length * 1000:.1f} ms measured; wall {last.wall * 1000:.1f} ms; "
            f"op time added up {op_time * 1000:.1f} ms"
        )
        lines.append(f"barriers ({len(last.barriers)}):")
        lines += _barrier_lines(last.barriers)
    if comparison is not None:
        lines.append(f"measured: plain {comparison.plain_ms:.1f} ms, jit {comparison.jit_ms:.1f} ms"
                     f" (median of {comparison.repeat}), speedup {comparison.speedup:.2f}x")
    learned = stats.learned.records
    lines.append(f"learned barriers ({len(learned)}):")
    lines += [f"  {barrier}" for barrier in learned] or ["  none"]
    lines.append(f"fallbacks ({len(fallbacks)}):")
    lines += [f"  {fallback}" for fallback in fallbacks] or ["  none"]
    return ExplainReport("\n".join(lines))
