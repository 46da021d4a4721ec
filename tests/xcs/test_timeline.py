"""Execution timelines from profiled calls, as text and as an image."""

from __future__ import annotations

import time

import pytest

from ember.models.api import models
from ember.xcs import Config, XCSError, compare, get_jit_stats, jit, op
from ember.xcs.timeline import (
    BarrierMark,
    Span,
    Timeline,
    render_timeline_text,
    save_timeline,
)


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


# -- Timeline.of: kinds, barriers, the measured times, the image ---------------------



@op
def lookup(q):
    time.sleep(0.02 + 0.005 * int(q[-1]) if q[-1].isdigit() else 0.02)  # distinct ends
    return q + "!"


@jit(config=Config(profile=True))
def ask(question):
    facts = [lookup(question + str(i)) for i in range(3)]
    answers = []
    for fact in facts:
        if fact:  # a barrier: the glue waits for this fact
            answers.append(models("simulated/writer", f"use {fact}"))  # lifted f-string
    return answers


def test_timeline_of_a_jitted_function_has_kinds_barriers_and_the_op_time():
    ask("tides")
    timeline = Timeline.of(ask)
    kinds = {span.name: span.kind for span in timeline.spans}
    assert kinds == {"lookup": "op", "llm[writer]": "model call"}
    assert len(timeline.spans) == 6
    labels = {mark.label for mark in timeline.barriers}
    assert len(labels) == 1 and next(iter(labels)).startswith("bool at test_timeline.py:")
    assert len(timeline.barriers) == 3
    lookups = [s for s in timeline.spans if s.kind == "op"]
    # each barrier is placed when the value it waited for arrived
    assert sorted(m.at_ms for m in timeline.barriers) == sorted(s.end_ms for s in lookups)
    stats = get_jit_stats(ask)
    assert timeline.wall_ms == stats["wall_ms"]
    assert timeline.op_time_ms == stats["op_time_ms"]
    assert timeline.plain_ms is None and timeline.speedup is None  # no plain run measured
    text = timeline.text(30)
    assert f"; op time added up {stats['op_time_ms']:.1f} ms\n" in text
    assert "barrier bool at test_timeline.py:" in text
    assert "(x3)" in text


def test_timeline_image_is_a_png_with_the_summary(tmp_path):
    compare(ask, "waves", repeat=1, warmup=0)  # a plain run measured: the summary shows it
    timeline = Timeline.of(ask)
    png = timeline._repr_png_()
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    figure = timeline.figure()
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    titles = [ax.get_title() for ax in figure.axes]
    assert any("faster than plain Python (both measured)" in title for title in titles)
    labels = [label.get_text() for ax in figure.axes for label in ax.get_yticklabels()]
    assert "plain Python (measured)" in labels
    assert any(t.startswith("barrier: bool at test_timeline.py:") for t in texts)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["model call", "op", "barrier (glue waited for a value)"]
    colours = {tuple(c.get_facecolor()[0]) for c in figure.axes[0].collections}
    assert len(colours) == 2  # one colour per kind
    assert timeline.save(tmp_path / "t.svg").read_text().startswith("<?xml")


def test_timeline_of_an_unprofiled_call_says_how_to_profile():
    plain = jit(lambda x: lookup(x))
    plain("x")
    with pytest.raises(XCSError, match=r"Config\(profile=True\)"):
        Timeline.of(plain)


def test_bad_image_paths_fail_before_drawing(tmp_path):
    timeline = Timeline((Span(0, "a", 0, 1),))
    with pytest.raises(XCSError, match="extension must be one of .png"):
        timeline.save(tmp_path / "t.txt")
    with pytest.raises(XCSError, match="does not exist"):
        timeline.save(tmp_path / "missing" / "t.png")


def test_missing_matplotlib_is_one_clear_error(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "matplotlib" else real(name, *rest))
    timeline = Timeline((Span(0, "a", 0, 1),), (BarrierMark(1, "str at x.py:1"),), 2, 1)
    with pytest.raises(XCSError, match=r"pip install 'ember-xcs\[plot\]'"):
        timeline.save(tmp_path / "t.png")
    assert timeline._repr_png_() is None  # notebooks fall back to the text form


@op
def crunch(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


@jit(config=Config(profile=True))
def crunch_four(n):
    return [crunch(n + i) for i in range(4)]


def test_no_speedup_is_claimed_for_ops_that_shared_the_gil_until_one_is_measured():
    crunch_four(100_000)
    timeline = Timeline.of(crunch_four)
    stats = get_jit_stats(crunch_four)
    # The op durations stretch one another under the GIL: their sum is no plain time.
    assert timeline.speedup is None and timeline.plain_ms is None
    header = timeline.text(20).splitlines()[0]
    assert header == (f"timeline: 4 nodes, wall {stats['wall_ms']:.1f} ms; op time added up "
                      f"{stats['op_time_ms']:.1f} ms")
    measured = compare(crunch_four, 100_000, repeat=1, warmup=0)
    timeline = Timeline.of(crunch_four)
    assert timeline.plain_ms == measured["plain_ms"]
    assert timeline.speedup == pytest.approx(measured["plain_ms"] / timeline.wall_ms)
    assert timeline.text(20).splitlines()[0].endswith(
        f"; plain Python {measured['plain_ms']:.1f} ms measured ({timeline.speedup:.1f}x)")
