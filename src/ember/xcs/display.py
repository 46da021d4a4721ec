"""Rich notebook output for ``explain``, stats and timelines.

Jupyter shows an object through its ``_repr_html_`` / ``_repr_png_`` methods and
IPython's terminal through ``_repr_pretty_``. XCS's values carry those themselves: an
``ExplainReport`` is the ``explain`` text (a ``str``), a ``StatsView`` is the
``get_jit_stats`` dict (both defined in ``ember.xcs.api.views``, re-exported here),
and the ``Timeline`` (``ember.xcs.timeline``) draws itself as a PNG.

``report(f)``, ``stats(f)`` and ``timeline(f)`` return them for a jitted function::

    from ember.xcs import display
    display.report(pipeline)     # the explain text, as HTML in a notebook
    display.stats(pipeline)      # a table of the measured facts
    display.timeline(pipeline)   # the timeline image (profile the call first)
"""

from __future__ import annotations

from typing import Any

from ember.xcs.api.explain import explain
from ember.xcs.api.stats import get_jit_stats
from ember.xcs.api.views import ExplainReport, StatsView, explain_html, stats_html
from ember.xcs.timeline import Timeline

__all__ = ["ExplainReport", "StatsView", "explain_html", "report", "stats", "stats_html",
           "timeline"]


def report(fn: Any, /, *args: Any, **kwargs: Any) -> ExplainReport:
    """``explain(fn, *args, **kwargs)`` as an ``ExplainReport`` (rich in notebooks)."""
    return ExplainReport(explain(fn, *args, **kwargs))


def stats(fn: Any = None) -> StatsView:
    """``get_jit_stats(fn)`` as a ``StatsView`` (a table in notebooks).

    Example:
        >>> from ember.xcs import jit
        >>> double = jit(lambda x: 2 * x)
        >>> double(2)
        4
        >>> view = stats(double)
        >>> view["calls"], "<table>" in view._repr_html_()
        (1, True)
    """
    return StatsView(get_jit_stats(fn))


def timeline(fn: Any) -> Timeline:
    """``Timeline.of(fn)``: the last profiled call, drawn as an image in notebooks."""
    return Timeline.of(fn)
