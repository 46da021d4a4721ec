"""Rich display: explain text, stats and timelines render as HTML / PNG in notebooks."""

from __future__ import annotations

import time

from ember.xcs import Config, display, explain, get_jit_stats, jit, op
from ember.xcs.api import views
from ember.xcs.display import ExplainReport, StatsView
from ember.xcs.timeline import Timeline


@op
def nap(x):
    time.sleep(0.01)
    return x


@jit(config=Config(profile=True))
def pair(x):
    a, b = nap(x), nap(x + 1)
    if a > 0:  # a bool barrier
        return [a, b]
    return [b]


def test_report_is_the_explain_text_with_html():
    text = display.report(pair, 1)
    assert isinstance(text, ExplainReport) and isinstance(text, str)
    assert text.splitlines()[0] == explain(pair).splitlines()[0] == "explain: pair"
    page = text._repr_html_()
    assert page.startswith('<div class="ember-xcs-explain"')
    assert "<b>explain: pair</b>" in page and "<b>IR:</b>" in page
    assert "<b>barriers (1):</b>" in page
    assert "bool at " + __file__ in page


def test_stats_view_is_the_dict_with_a_table():
    pair(2)
    view = display.stats(pair)
    assert isinstance(view, StatsView) and view == get_jit_stats(pair)
    page = view._repr_html_()
    assert "<b>stats: pair</b>" in page
    assert "<th style='text-align:left'>calls</th>" in page
    assert "op time added up (about what plain Python spends in ops)" in page
    assert "<b>barriers (1)</b>" in page


def test_timeline_draws_as_png():
    pair(3)
    line = display.timeline(pair)
    assert isinstance(line, Timeline)
    assert line._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_display_offers_the_view_types_where_they_live():
    assert display.ExplainReport is views.ExplainReport
    assert display.StatsView is views.StatsView
    assert display.explain_html is views.explain_html and display.stats_html is views.stats_html
