"""The values explain and get_jit_stats return: a str and a dict with notebook output."""

from __future__ import annotations

import pytest

from ember.xcs.api.views import ExplainReport, StatsView, explain_html, stats_html


def test_explain_html_sets_section_lines_in_bold():
    page = explain_html("explain: f\nbarriers (1):\n  str at a.py:3")
    assert page.startswith('<div class="ember-xcs-explain"')
    assert "<b>explain: f</b>\n<b>barriers (1):</b>\n  str at a.py:3</div>" in page


def test_explain_html_escapes_markup():
    page = explain_html("explain: <lambda>\n  x = f('<b>')")
    assert "&lt;lambda&gt;" in page and "&#x27;&lt;b&gt;&#x27;" in page
    assert "<lambda>" not in page


def test_an_explain_report_is_its_text():
    text = ExplainReport("explain: f\n  calls so far: 1")
    assert isinstance(text, str) and text == "explain: f\n  calls so far: 1"
    assert text._repr_html_() == explain_html(text)


def test_stats_html_leaves_out_what_was_not_measured():
    page = stats_html({"name": "f", "calls": 3, "speedup": None, "overlap": 1.5})
    assert "<td>3</td>" in page and "<td>1.50</td>" in page
    assert "compare()" not in page  # the speedup row


def test_stats_html_caps_long_lists():
    page = stats_html({"name": "f", "barriers": [f"str at a.py:{n}" for n in range(80)]})
    assert page.count("<li>") == 51 and "... and 30 more" in page


def test_a_stats_view_is_its_dict():
    view = StatsView({"name": "f", "calls": 2})
    assert isinstance(view, dict) and view == {"name": "f", "calls": 2}
    assert view._repr_html_() == stats_html(view)


def test_pretty_printing_in_ipython_shows_text_not_reprs():
    pretty = pytest.importorskip("IPython.lib.pretty")
    text = pretty.pretty(ExplainReport("explain: f\n  calls so far: 1"))
    assert text == "explain: f\n  calls so far: 1"
    table = pretty.pretty(StatsView({"name": "f", "calls": 2}))
    assert table == "name   'f'\ncalls  2"
