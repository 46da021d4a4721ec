"""``explain``: what a jitted function did, in words a person can act on."""

from __future__ import annotations

from typing import Any

from ember.xcs.analysis import analyze, critical_path
from ember.xcs.api.stats import _stats_of
from ember.xcs.ir.render import VarNames, render_text

__all__ = ["explain"]


def explain(fn: Any, *args: Any, **kwargs: Any) -> str:
    """Describe the last call of a jitted function, after running it if given arguments.

    The text has the IR, the parallel groups, the critical path with measured times,
    every barrier with file:line, learned barriers and fallbacks with their reasons.
    Note that with arguments the function really runs (its ops are called).

    Args:
        fn: a jitted function (or a plain function: it is jitted for the occasion).
        *args: arguments for a fresh call; none to explain the last call.
        **kwargs: keyword arguments for that call.

    Returns:
        A multi-line report.

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
    lines = [f"explain: {stats.name}", f"  calls so far: {calls}", f"  mode: {stats.mode}"]
    if last is None:
        lines.append("  no ops were called on the last call (nothing to parallelise)")
    else:
        graph = last.graph
        analysis, _ = analyze(graph, cache=config.cache if config is not None else True)
        names = VarNames(graph)
        lines.append("IR:")
        lines += ["  " + line for line in render_text(graph, redact=redact).splitlines()]
        lines.append(f"parallel groups ({analysis.depth}, widest {analysis.width}):")
        for level, group in enumerate(analysis.parallel_groups):
            members = ", ".join(
                f"{names[graph.nodes[i].output]}={graph.nodes[i].name}"  # type: ignore[index]
                for i in group
            )
            lines.append(f"  {level}: {members}")
        length, path = critical_path(graph, last.durations)
        sequential = sum(last.durations.values())
        lines.append(
            f"critical path: {' -> '.join(graph.nodes[i].name for i in path) or '(none)'} "
            f"= {length * 1000:.1f} ms measured; wall {last.wall * 1000:.1f} ms; "
            f"ops summed {sequential * 1000:.1f} ms"
        )
        lines.append(f"barriers ({len(last.barriers)}):")
        lines += [f"  {barrier}" for barrier in last.barriers] or ["  none"]
    learned = stats.learned.records
    lines.append(f"learned barriers ({len(learned)}):")
    lines += [f"  {barrier}" for barrier in learned] or ["  none"]
    lines.append(f"fallbacks ({len(fallbacks)}):")
    lines += [f"  {fallback}" for fallback in fallbacks] or ["  none"]
    return "\n".join(lines)
