"""Execution timelines: when each node of a profiled call ran, as text or as an image.

Timings come from a profiled jitted call (``Config(profile=True)`` or
``EMBER_XCS_PROFILE=1``): ``get_jit_stats(f)["node_timings"]`` is a list of dicts with
``node``, ``name``, ``start_ms`` and ``end_ms`` (milliseconds from the start of the call).
``render_timeline_text`` draws a Gantt chart for the terminal; ``save_timeline`` draws
one into an image file with matplotlib (imported only when called).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ember.xcs.errors import XCSError

__all__ = ["Span", "render_timeline_text", "save_timeline"]

_NAME_WIDTH = 18


@dataclass(frozen=True)
class Span:
    """One node's run: ``[start_ms, end_ms]`` from the start of the call."""

    node: int
    name: str
    start_ms: float
    end_ms: float


def _spans(timings: Iterable[Mapping[str, Any] | Any]) -> list[Span]:
    spans = []
    for timing in timings:
        keys = ("node", "name", "start_ms", "end_ms")
        if isinstance(timing, Mapping):
            values: list[Any] = [timing.get(key) for key in keys]
        else:
            values = [getattr(timing, key, None) for key in keys]
        if any(v is None for v in values):
            raise XCSError(
                f"a timeline entry needs node, name, start_ms and end_ms; got {timing!r}. "
                "Pass get_jit_stats(f)['node_timings'] from a call with Config(profile=True)."
            )
        node, name, start, end = values
        spans.append(Span(int(node), str(name), float(start), float(end)))
    return sorted(spans, key=lambda s: (s.start_ms, s.node))


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
    spans = _spans(timings)
    if not spans:
        return "timeline: no node timings (profile the call: Config(profile=True))"
    total = max(s.end_ms for s in spans) or 1.0
    lines = [f"timeline: {len(spans)} nodes, {total:.1f} ms"]
    for span in spans:
        first = min(width - 1, int(span.start_ms / total * width))
        last = max(first + 1, min(width, math.ceil(span.end_ms / total * width - 1e-9)))
        bar = " " * first + "█" * (last - first) + " " * (width - last)
        label = f"#{span.node} {span.name}"
        if len(label) > _NAME_WIDTH:
            label = label[: _NAME_WIDTH - 1] + "…"
        lines.append(f"{label:<{_NAME_WIDTH}} |{bar}| {span.start_ms:6.1f} - {span.end_ms:6.1f} ms")
    return "\n".join(lines)


def save_timeline(timings: Iterable[Mapping[str, Any] | Any], path: str | os.PathLike[str],
                  *, title: str = "ember.xcs timeline") -> Path:
    """Draw node timings as a Gantt chart into an image (``.png``, ``.svg``, ``.pdf``).

    Uses matplotlib's object API (no ``pyplot``, no global backend change).

    Args:
        timings: as for ``render_timeline_text``.
        path: the image file; matplotlib picks the format from the extension.
        title: the chart's title.

    Returns:
        The path written.

    Raises:
        XCSError: matplotlib is not installed (``pip install 'ember-xcs[plot]'``), or
            an entry is malformed.
    """
    spans = _spans(timings)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise XCSError(
            "save_timeline needs matplotlib: pip install 'ember-xcs[plot]' (or use "
            "render_timeline_text for a text chart)."
        ) from error
    figure = Figure(figsize=(9, 1 + 0.35 * max(len(spans), 1)))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for row, span in enumerate(spans):
        axes.broken_barh([(span.start_ms, max(span.end_ms - span.start_ms, 1e-3))],
                         (row - 0.4, 0.8))
    axes.set_yticks(range(len(spans)), [f"#{s.node} {s.name}" for s in spans])
    axes.invert_yaxis()
    axes.set_xlabel("milliseconds from the start of the call")
    axes.set_title(title)
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target)
    return target
