"""Timeline images drawn with matplotlib, from a hand-built ``Timeline``."""

from __future__ import annotations

import pytest

from ember.xcs import XCSError
from ember.xcs._timeline_image import IMAGE_FORMATS, KIND_COLOURS, check_image_path, draw
from ember.xcs.timeline import BarrierMark, Span, Timeline

TIMELINE = Timeline(
    (Span(0, "draft", 0, 50, "model call"), Span(1, "score", 0, 20, "tensor"),
     Span(2, "judge", 50, 100, "model call")),
    (BarrierMark(50, "bool at app.py:3"), BarrierMark(60, "bool at app.py:3")),
    wall_ms=104, op_time_ms=250, plain_ms=170,
)


def test_one_bar_per_span_coloured_by_kind():
    figure = draw(TIMELINE)
    chart = figure.axes[0]
    labels = [label.get_text() for label in chart.get_yticklabels()]
    assert labels == ["#0 draft", "#1 score", "#2 judge"]
    colours = [tuple(bars.get_facecolor()[0]) for bars in chart.collections]
    assert len(colours) == 3 and colours[0] == colours[2] != colours[1]
    legend = [text.get_text() for text in chart.get_legend().get_texts()]
    assert legend == ["model call", "tensor", "barrier (glue waited for a value)"]


def test_repeated_barriers_are_one_label_with_a_count():
    texts = [text.get_text() for text in draw(TIMELINE).axes[0].texts]
    assert texts == ["barrier: bool at app.py:3 (x2)"]


def test_the_summary_compares_wall_time_with_a_measured_plain_run_only():
    figure = draw(TIMELINE)
    assert len(figure.axes) == 2
    assert "1.6x faster than plain Python (both measured)" in figure.axes[0].get_title()
    for unmeasured in (Timeline(TIMELINE.spans), Timeline(TIMELINE.spans, wall_ms=104,
                                                          op_time_ms=250)):
        drawn = draw(unmeasured)  # the op time added up is no plain-Python time
        assert len(drawn.axes) == 1 and "faster" not in drawn.axes[0].get_title()


def test_image_paths_are_checked_before_drawing(tmp_path):
    assert ".png" in IMAGE_FORMATS and set(KIND_COLOURS) >= {"model call", "op", "tensor"}
    check_image_path(tmp_path / "t.PNG")  # the extension's case does not matter
    with pytest.raises(XCSError, match="extension must be one of .png"):
        check_image_path(tmp_path / "t.txt")
    with pytest.raises(XCSError, match="does not exist"):
        check_image_path(tmp_path / "missing" / "t.png")
