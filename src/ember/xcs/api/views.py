"""How ``explain`` and ``get_jit_stats`` values show themselves in notebooks.

Jupyter shows an object through its ``_repr_html_`` method and IPython's terminal
through ``_repr_pretty_``. The types here add those to the plain values XCS returns,
without changing what they are: an ``ExplainReport`` is the ``explain`` text (a
``str``), a ``StatsView`` is the ``get_jit_stats`` dict. They sit below the API that
returns them (``api.explanation``, ``api.stats``); ``ember.xcs.display`` offers them
for a jitted function, with its timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ExplainReport", "StatsView", "explain_html", "stats_html"]

_STYLE = (
    "font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; "
    "line-height: 1.35;"
)


def _escape(text: str) -> str:
    """``html.escape``, importing ``html`` (and its entity table) only when a view renders."""
    import html

    return html.escape(text)


def explain_html(text: str) -> str:
    """The ``explain`` text as HTML: section headings in bold, the rest preformatted.

    Example:
        >>> print(explain_html("explain: f\\nbarriers (1):\\n  str at a.py:3"))
        <div class="ember-xcs-explain" ...><b>explain: f</b>
        <b>barriers (1):</b>
          str at a.py:3</div>
    """
    lines = []
    for line in text.splitlines():
        escaped = _escape(line)
        # Section lines start at the margin ("IR:", "barriers (2):"); details are indented.
        lines.append(f"<b>{escaped}</b>" if line and not line[0].isspace() else escaped)
    body = "\n".join(lines)
    return (f'<div class="ember-xcs-explain" style="white-space: pre; {_STYLE}">'
            f"{body}</div>")


class ExplainReport(str):
    """The ``explain`` text, shown as formatted HTML in notebooks (still a ``str``).

    Example:
        >>> text = ExplainReport("explain: f\\n  calls so far: 1")
        >>> text.splitlines()[0], "<b>explain: f</b>" in text._repr_html_()
        ('explain: f', True)
    """

    def _repr_html_(self) -> str:
        return explain_html(str(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))  # the text itself, not its repr with \n escapes


_SUMMARY = (
    ("calls", "calls", "{}"),
    ("wall_ms", "wall time (last call)", "{:.1f} ms"),
    ("critical_path_ms", "critical path", "{:.1f} ms"),
    ("op_time_ms", "op time added up (about what plain Python spends in ops)", "{:.1f} ms"),
    ("overlap", "overlap (op time / wall; not a speedup)", "{:.2f}"),
    ("efficiency", "efficiency (critical path / wall)", "{:.2f}"),
    ("speedup", "speedup measured by compare()", "{:.2f}x"),
    ("ops", "ops", "{}"),
    ("parallel_groups", "parallel groups", "{}"),
    ("max_parallelism", "widest group", "{}"),
    ("structure_repeats", "calls shaped like the one before", "{}"),
    ("reruns", "reruns", "{}"),
    ("errors", "calls that raised", "{}"),
)


def stats_html(facts: Mapping[str, Any]) -> str:
    """``get_jit_stats(f)`` as an HTML table, with barriers, fallbacks and tokens listed.

    Example:
        >>> "<td>3</td>" in stats_html({"name": "f", "calls": 3})
        True
    """
    rows = []
    for key, label, pattern in _SUMMARY:
        if facts.get(key) is not None:  # None: not measured, so not shown
            rows.append(f"<tr><th style='text-align:left'>{_escape(label)}</th>"
                        f"<td>{_escape(pattern.format(facts[key]))}</td></tr>")
    tokens = facts.get("tokens") or {}
    if tokens:
        text = ", ".join(f"{k.replace('_tokens', '')} {v}" for k, v in sorted(tokens.items()))
        rows.append(f"<tr><th style='text-align:left'>tokens</th><td>{_escape(text)}</td></tr>")
    parts = [f"<div class='ember-xcs-stats' style='{_STYLE}'>",
             f"<b>stats: {_escape(str(facts.get('name', '?')))}</b>",
             f" <i>({_escape(str(facts.get('mode', '')))})</i>" if facts.get("mode") else "",
             f"<table>{''.join(rows)}</table>"]
    for key, title in (("barriers", "barriers"), ("learned_barriers", "learned barriers"),
                       ("fallbacks", "fallbacks")):
        items = facts.get(key) or []
        if items:
            listed = "".join(f"<li>{_escape(str(item))}</li>" for item in items[:50])
            more = f"<li>... and {len(items) - 50} more</li>" if len(items) > 50 else ""
            parts.append(f"<b>{title} ({len(items)})</b><ul>{listed}{more}</ul>")
    parts.append("</div>")
    return "".join(parts)


class StatsView(dict[str, Any]):
    """The ``get_jit_stats`` dict, shown as a table in notebooks (still a ``dict``).

    Example:
        >>> view = StatsView({"name": "f", "calls": 2})
        >>> view["calls"], "<table>" in view._repr_html_()
        (2, True)
    """

    def _repr_html_(self) -> str:
        return stats_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        width = max((len(key) for key in self), default=0)
        printer.text("\n".join(f"{key:<{width}}  {value!r}" for key, value in self.items()))
