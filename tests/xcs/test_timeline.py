"""Execution timelines from profiled calls, as text and as an image."""

from __future__ import annotations

import time

import pytest

from ember.xcs import Config, XCSError, get_jit_stats, jit, op
from ember.xcs.timeline import render_timeline_text, save_timeline


@op
def nap(label):
    time.sleep(0.03)
    return label


def _profiled_timings():
    @jit(config=Config(profile=True))
    def fan(x):
        a, b = nap(x + "a"), nap(x + "b")
        return nap(a + b)

    fan("x")
    return get_jit_stats(fan)["node_timings"]


def test_text_chart_of_a_profiled_call():
    timings = _profiled_timings()
    text = render_timeline_text(timings, width=30)
    lines = text.splitlines()
    assert lines[0].startswith("timeline: 3 nodes")
    assert len(lines) == 4
    bars = [line.split("|")[1] for line in lines[1:]]
    assert all(len(bar) == 30 for bar in bars)
    # the two independent naps overlap; the judge starts after both
    first_a, first_b, last = (bar.index("█") for bar in bars)
    assert abs(first_a - first_b) <= 2 and last >= 12


def test_exact_rendering_and_empty_input():
    text = render_timeline_text(
        [{"node": 1, "name": "b", "start_ms": 25, "end_ms": 100},
         {"node": 0, "name": "a-very-long-op-name-indeed", "start_ms": 0, "end_ms": 50}],
        width=4)
    assert text == (
        "timeline: 2 nodes, 100.0 ms\n"
        "#0 a-very-long-op… |██  |    0.0 -   50.0 ms\n"
        "#1 b               | ███|   25.0 -  100.0 ms"
    )
    assert "Config(profile=True)" in render_timeline_text([])
    with pytest.raises(XCSError, match="start_ms"):
        render_timeline_text([{"node": 0, "name": "x"}])


def test_image_of_a_profiled_call(tmp_path):
    path = save_timeline(_profiled_timings(), tmp_path / "timeline.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_timeline(_profiled_timings(), tmp_path / "timeline.svg")
    assert "<svg" in svg.read_text()
