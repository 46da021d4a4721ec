"""Timeline images: a ``Timeline`` drawn with matplotlib (imported only here, on use).

``ember.xcs.timeline`` re-exports the public names; ``Timeline.figure``, ``save`` and
``png`` call ``draw``. The figure uses matplotlib's object API (no ``pyplot``, no
change of backend), so drawing never disturbs the user's own plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ember.xcs.errors import XCSError

__all__ = ["IMAGE_FORMATS", "KIND_COLOURS", "check_image_path", "draw", "require_matplotlib"]


class Chart(Protocol):
    """What ``draw`` reads of a ``Timeline``: a protocol, so that this module need not
    import ``ember.xcs.timeline``, which imports it."""

    @property
    def spans(self) -> Sequence[Any]: ...  # each with node, name, start_ms, end_ms, kind

    @property
    def barriers(self) -> Sequence[Any]: ...

    @property
    def wall_ms(self) -> float | None: ...

    @property
    def plain_ms(self) -> float | None: ...

    @property
    def title(self) -> str: ...

    @property
    def end_ms(self) -> float: ...

    @property
    def speedup(self) -> float | None: ...

    def barrier_groups(self) -> dict[str, list[float]]: ...

KIND_COLOURS = {
    "model call": "#4C72B0",
    "op": "#DD8452",
    "tensor": "#55A868",
    "eager op": "#C44E52",
}
"""Bar colour per span kind (colour-blind-safe, from the seaborn "deep" palette)."""

IMAGE_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff",
                 ".webp")
"""File extensions ``save`` can write (matplotlib's Agg backend formats)."""


def draw(timeline: Chart) -> Any:
    """``timeline`` as a matplotlib ``Figure`` with an Agg canvas.

    Raises:
        XCSError: matplotlib is not installed.
    """
    require_matplotlib("a timeline image")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = len(timeline.spans)
    summary_rows = 2 if timeline.speedup is not None else 0  # only measured times
    height = 1.6 + 0.32 * max(rows, 1) + 0.45 * summary_rows
    figure = Figure(figsize=(10, height))
    FigureCanvasAgg(figure)
    if summary_rows:
        grid = figure.add_gridspec(2, 1, height_ratios=[max(rows, 1), 1.6 * summary_rows])
        axes = figure.add_subplot(grid[0])
        summary = figure.add_subplot(grid[1])
    else:
        axes = figure.add_subplot()
        summary = None
    # A body of a few microseconds (a prompt template) still gets a visible sliver.
    least = timeline.end_ms / 250
    for row, span in enumerate(timeline.spans):
        axes.broken_barh([(span.start_ms, max(span.end_ms - span.start_ms, least))],
                         (row - 0.38, 0.76), facecolors=KIND_COLOURS.get(span.kind, "grey"))
    axes.set_yticks(range(rows), [f"#{s.node} {s.name}" for s in timeline.spans],
                    fontsize=8)
    axes.set_ylim(rows - 0.5, -0.5)
    for number, (label, times) in enumerate(timeline.barrier_groups().items()):
        for at in times:
            axes.axvline(at, color="black", linestyle=":", linewidth=1)
        count = f" (x{len(times)})" if len(times) > 1 else ""
        axes.annotate(f"barrier: {label}{count}", (times[0], -0.5),
                      xytext=(-3, -3 - 10 * (number % 4)), textcoords="offset points",
                      fontsize=7, va="top", ha="right",
                      bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8})
    kinds = [k for k in KIND_COLOURS if any(s.kind == k for s in timeline.spans)]
    handles: list[Any] = [Patch(color=KIND_COLOURS[k], label=k) for k in kinds]
    if timeline.barriers:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", linestyle=":",
                              label="barrier (glue waited for a value)"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                frameon=False)
    title = timeline.title
    if timeline.speedup is not None:
        title += f" — {timeline.speedup:.1f}x faster than plain Python (both measured)"
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    axes.set_xlim(0, timeline.end_ms * 1.02)
    if summary is not None:
        assert timeline.wall_ms is not None and timeline.plain_ms is not None
        summary.barh([0, 1], [timeline.wall_ms, timeline.plain_ms],
                     color=["#4C72B0", "#BBBBBB"], height=0.6)
        summary.set_yticks([0, 1], ["@jit (measured)", "plain Python (measured)"], fontsize=8)
        summary.set_ylim(1.5, -0.5)
        for row, value in enumerate((timeline.wall_ms, timeline.plain_ms)):
            summary.annotate(f" {value:.0f} ms", (value, row), va="center", fontsize=8)
        summary.set_xlabel("milliseconds")
        summary.set_xlim(0, max(timeline.plain_ms, timeline.wall_ms) * 1.15)
        summary.set_title("whole call: @jit wall time vs plain Python, both measured",
                          fontsize=9)
    axes.set_xlabel("milliseconds from the start of the call")
    figure.tight_layout()
    return figure


def require_matplotlib(purpose: str) -> None:
    """Raise ``XCSError`` with the install command when matplotlib is missing.

    Args:
        purpose: what needs it, for the message (``"a timeline image"``).
    """
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise XCSError(
            f"{purpose} needs matplotlib, which is not installed: pip install "
            "'ember-xcs[plot]' (or use the text timeline)."
        )


def check_image_path(path: Path) -> None:
    """Raise ``XCSError`` unless ``path`` can receive an image (format and directory)."""
    if path.suffix.lower() not in IMAGE_FORMATS:
        raise XCSError(
            f"cannot write a timeline image to {path}: the extension must be one of "
            f"{', '.join(IMAGE_FORMATS)}."
        )
    if not path.parent.is_dir():
        raise XCSError(
            f"cannot write a timeline image to {path}: the directory {path.parent} does not "
            "exist."
        )
    require_matplotlib("a timeline image")
