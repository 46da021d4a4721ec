"""Execution timelines: when each node of a profiled call ran, as text or as an image.

Timings come from a profiled jitted call (``Config(profile=True)`` or
``EMBER_XCS_PROFILE=1``). ``Timeline.of(f)`` collects the last call of ``f``: one span
per op node (with its kind: model call, op, tensor, or an op that ran eagerly), the
barriers where the glue waited (at the moment the value it waited for arrived), the
measured wall time, the op time added up, and a plain-Python wall time only where one
was measured (``compare(f, *args)``). The op time added up is no plain-Python time: ops
that need the CPU stretch one another under the GIL, so their durations, summed, count
the same CPU time several times; only a measured plain run gives a speedup. ``text()`` draws
a Gantt chart for the terminal and ``save(path)`` an image (drawn by
``_timeline_image`` with matplotlib, imported only then). ``render_timeline_text`` and
``save_timeline`` do the same for a bare list of ``get_jit_stats(f)["node_timings"]``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ember.xcs._timeline_image import (
    IMAGE_FORMATS,
    KIND_COLOURS,
    check_image_path,
    draw,
    require_matplotlib,
)
from ember.xcs.errors import XCSError

__all__ = [
    "IMAGE_FORMATS",
    "KIND_COLOURS",
    "BarrierMark",
    "Span",
    "Timeline",
    "check_image_path",
    "render_timeline_text",
    "require_matplotlib",
    "save_timeline",
]

_NAME_WIDTH = 18

@dataclass(frozen=True)
class Span:
    """One node's run: ``[start_ms, end_ms]`` from the start of the call.

    ``kind`` is ``"model call"`` (an ``llm[...]`` op), ``"op"``, ``"tensor"`` or
    ``"eager op"`` (an op that ran in program order: in a ``try`` block, an effect...).
    """

    node: int
    name: str
    start_ms: float
    end_ms: float
    kind: str = "op"


@dataclass(frozen=True)
class BarrierMark:
    """A barrier: the glue needed a concrete value; it could go on at ``at_ms``."""

    at_ms: float
    label: str


def _kind_for_name(name: str) -> str:
    return "model call" if name.startswith("llm[") else "op"


def _spans(timings: Iterable[Mapping[str, Any] | Any]) -> list[Span]:
    spans = []
    for timing in timings:
        keys = ("node", "name", "start_ms", "end_ms")
        if isinstance(timing, Mapping):
            values: list[Any] = [timing.get(key) for key in keys]
            kind = timing.get("kind")
        else:
            values = [getattr(timing, key, None) for key in keys]
            kind = getattr(timing, "kind", None)
        if any(v is None for v in values):
            raise XCSError(
                f"a timeline entry needs node, name, start_ms and end_ms; got {timing!r}. "
                "Pass get_jit_stats(f)['node_timings'] from a call with Config(profile=True)."
            )
        node, name, start, end = values
        spans.append(Span(int(node), str(name), float(start), float(end),
                          str(kind) if kind else _kind_for_name(str(name))))
    return sorted(spans, key=lambda s: (s.start_ms, s.node))


@dataclass(frozen=True)
class Timeline:
    """The timeline of one profiled call (see the module docstring).

    Attributes:
        spans: one per op node, sorted by start.
        barriers: where the glue waited, in time order.
        wall_ms: the measured wall time of the call (``None`` if unknown).
        op_time_ms: the op durations of the call added up (not a plain-Python time).
        plain_ms: a measured wall time of the same call as plain Python (``compare``'s
            median), or ``None``: nothing is estimated in its place.
        title: the chart's title.

    Example:
        >>> line = Timeline((Span(0, "draft", 0, 50, "model call"),
        ...                  Span(1, "judge", 50, 100, "model call")), wall_ms=102,
        ...                 op_time_ms=100, plain_ms=101)
        >>> for part in line.text(width=10).splitlines()[0].split("; "):
        ...     print(part)
        timeline: 2 nodes, wall 102.0 ms
        op time added up 100.0 ms
        plain Python 101.0 ms measured (1.0x)
    """

    spans: tuple[Span, ...]
    barriers: tuple[BarrierMark, ...] = ()
    wall_ms: float | None = None
    op_time_ms: float | None = None
    plain_ms: float | None = None
    title: str = "ember.xcs timeline"

    @classmethod
    def of(cls, fn: Any) -> Timeline:
        """The timeline of the last call of the jitted function ``fn``.

        Raises:
            XCSError: ``fn`` is not jitted, or its last call was not profiled
                (``Config(profile=True)``).

        Example:
            >>> from ember.xcs import Config, jit, op
            >>> @op
            ... def inc(x):
            ...     return x + 1
            >>> f = jit(lambda x: [inc(x), inc(x)], config=Config(profile=True))
            >>> _ = f(1)
            >>> len(Timeline.of(f).spans)
            2
        """
        from ember.xcs.api.stats import get_jit_stats

        stats = get_jit_stats(fn)
        timings = stats.get("node_timings")
        if not timings:
            raise XCSError(
                f"no node timings for {stats.get('name', fn)!r}: profile the call with "
                "Config(profile=True) (or EMBER_XCS_PROFILE=1) and call it once first."
            )
        kinds, barriers = _graph_facts(fn, timings)
        spans = tuple(
            Span(s.node, s.name, s.start_ms, s.end_ms, kinds.get(s.node, s.kind))
            for s in _spans(timings)
        )
        comparison = stats["comparison"]
        return cls(spans, barriers, float(stats["wall_ms"]), float(stats["op_time_ms"]),
                   comparison["plain_ms"] if comparison else None,
                   f"{stats['name']}: one call under @jit")

    @property
    def end_ms(self) -> float:
        """Where the chart's time axis ends."""
        ends = [s.end_ms for s in self.spans] + [self.wall_ms or 0.0]
        return max(ends) or 1.0

    @property
    def speedup(self) -> float | None:
        """Measured plain-Python wall time / wall time; ``None`` unless both were measured."""
        if not self.wall_ms or self.plain_ms is None:
            return None
        return self.plain_ms / self.wall_ms

    def text(self, width: int = 50) -> str:
        """A Gantt chart for the terminal, one row per node (see ``render_timeline_text``)."""
        if not self.spans:
            return "timeline: no node timings (profile the call: Config(profile=True))"
        total = self.end_ms
        header = f"timeline: {len(self.spans)} nodes"
        header += f", wall {self.wall_ms:.1f} ms" if self.wall_ms is not None else \
            f", {total:.1f} ms"
        if self.op_time_ms is not None:
            header += f"; op time added up {self.op_time_ms:.1f} ms"
        if self.speedup is not None:
            header += f"; plain Python {self.plain_ms:.1f} ms measured ({self.speedup:.1f}x)"
        lines = [header]
        for span in self.spans:
            first = min(width - 1, int(span.start_ms / total * width))
            last = max(first + 1, min(width, math.ceil(span.end_ms / total * width - 1e-9)))
            bar = " " * first + "█" * (last - first) + " " * (width - last)
            label = f"#{span.node} {span.name}"
            if len(label) > _NAME_WIDTH:
                label = label[: _NAME_WIDTH - 1] + "…"
            lines.append(
                f"{label:<{_NAME_WIDTH}} |{bar}| {span.start_ms:6.1f} - {span.end_ms:6.1f} ms"
            )
        for label, times in self.barrier_groups().items():
            count = f" (x{len(times)})" if len(times) > 1 else ""
            at = ", ".join(f"{t:.1f}" for t in times[:6]) + (", ..." if len(times) > 6 else "")
            lines.append(f"  barrier {label}{count}: glue went on at {at} ms")
        return "\n".join(lines)

    def barrier_groups(self) -> dict[str, list[float]]:
        """Barrier times per label, in order of first appearance (one label per line)."""
        groups: dict[str, list[float]] = {}
        for barrier in self.barriers:
            groups.setdefault(barrier.label, []).append(barrier.at_ms)
        return groups

    def figure(self) -> Any:
        """The chart as a matplotlib ``Figure`` (object API: no ``pyplot``, no backend change).

        Raises:
            XCSError: matplotlib is not installed.
        """
        return draw(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Draw the chart into an image file; the extension picks the format.

        Raises:
            XCSError: matplotlib is missing, or the extension is not an image format.
        """
        target = Path(path)
        check_image_path(target)
        self.figure().savefig(target)
        return target

    def png(self) -> bytes:
        """The chart as PNG bytes (what notebooks display)."""
        import io

        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png")
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.text()

    def _repr_png_(self) -> bytes | None:
        try:
            return self.png()
        except XCSError:
            return None  # no matplotlib: the notebook shows the text form instead

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())


def _graph_facts(fn: Any, timings: list[Any]) -> tuple[dict[int, str], tuple[BarrierMark, ...]]:
    """Node kinds and barrier times of ``fn``'s last call, read from its graph.

    Stats carry per-node times but not kinds or barrier times; the graph of the last
    call has both (a barrier node's input is the value it waited for, so the glue went
    on when that node ended).
    """
    from ember.xcs.api.stats import _stats_of
    from ember.xcs.ir.graph import NodeKind

    record = _stats_of(fn).last
    if record is None:
        return {}, ()
    graph = record.graph
    ends = {int(t["node"]): float(t["end_ms"]) for t in timings}
    kinds: dict[int, str] = {}
    barriers: dict[tuple[float, str], int] = {}
    for node in graph.nodes:
        if node.kind is NodeKind.TENSOR:
            kinds[node.id] = "tensor"
        elif node.kind is NodeKind.BARRIER:
            # A barrier's argument is the variable it waited for: find the node behind it.
            producers = graph.producers
            sources = [producers[arg.id].id for arg in node.args
                       if hasattr(arg, "id") and arg.id in producers]
            if node.name.startswith("eager op") and sources:
                kinds[sources[0]] = "eager op"
                continue
            at = max((ends[s] for s in sources if s in ends), default=None)
            if at is None:
                continue  # it waited on a lifted value or an input: no op time to show
            where = node.location.short if node.location is not None else "?"
            label = f"{node.name} at {where}"
            barriers[(at, label)] = barriers.get((at, label), 0) + 1
    marks = tuple(BarrierMark(at, label) for (at, label), count in sorted(barriers.items())
                  for _ in range(count))
    return kinds, marks


def render_timeline_text(timings: Iterable[Mapping[str, Any] | Any], width: int = 50) -> str:
    """A Gantt chart of node timings for the terminal, one row per node.

    Args:
        timings: ``get_jit_stats(f)["node_timings"]`` (dicts, or objects with the
            same attributes).
        width: characters for the time axis.

    Returns:
        The chart as lines of text.

    Raises:
        XCSError: an entry lacks one of ``node``, ``name``, ``start_ms``, ``end_ms``.

    Example:
        >>> print(render_timeline_text([
        ...     {"node": 0, "name": "draft", "start_ms": 0, "end_ms": 50},
        ...     {"node": 1, "name": "judge", "start_ms": 50, "end_ms": 100}], width=10))
        timeline: 2 nodes, 100.0 ms
        #0 draft           |█████     |    0.0 -   50.0 ms
        #1 judge           |     █████|   50.0 -  100.0 ms
    """
    return Timeline(tuple(_spans(timings))).text(width)


def save_timeline(timings: Iterable[Mapping[str, Any] | Any], path: str | os.PathLike[str],
                  *, title: str = "ember.xcs timeline") -> Path:
    """Draw node timings as a Gantt chart into an image (``.png``, ``.svg``, ``.pdf``).

    For kinds, barriers, the op time and a measured speedup, use
    ``Timeline.of(f).save(path)``, which has the whole call.

    Args:
        timings: as for ``render_timeline_text``.
        path: the image file; the extension picks the format.
        title: the chart's title.

    Returns:
        The path written.

    Raises:
        XCSError: matplotlib is not installed (``pip install 'ember-xcs[plot]'``), the
            extension is not an image format, or an entry is malformed.
    """
    return Timeline(tuple(_spans(timings)), title=title).save(path)
