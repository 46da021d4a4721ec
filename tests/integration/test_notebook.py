"""The example notebook runs in a real Jupyter kernel with parallel ops and rich output.

``examples/06_notebook.ipynb`` is executed with nbclient on an ipykernel of this
interpreter: the jitted function defined in a cell runs its four independent ops at
once (timed), ``vmap`` with ``Config(progress=True)`` draws a notebook progress bar
(a tqdm widget), and ``explain``, stats and the timeline display as HTML and PNG.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "06_notebook.ipynb"
LATENCY = 0.3


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return notebook


def outputs_of(notebook, source_start):
    cell = next(c for c in notebook.cells
                if c.cell_type == "code" and c.source.startswith(source_start))
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    return cell.outputs


def printed(outputs):
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def rich(outputs, mime):
    return [o["data"][mime] for o in outputs
            if o.output_type in ("display_data", "execute_result") and mime in o.get("data", {})]


def test_jitted_cell_runs_its_ops_in_parallel(executed):
    text = printed(outputs_of(executed, "@jit(config=Config(profile=True))"))
    assert "Summary: history notes on tidal power / physics notes" in text
    seconds = float(re.search(r"jit seconds: ([0-9.]+)", text).group(1))
    # research x4 at once, then write: two latencies, far from the five of plain Python
    assert 2 * LATENCY <= seconds < 3.5 * LATENCY, seconds


def test_vmap_shows_a_notebook_progress_bar(executed):
    outputs = outputs_of(executed, "topics = ")
    widgets = rich(outputs, "application/vnd.jupyter.widget-view+json")
    assert len(widgets) == 1, [o.get("data", {}).keys() for o in outputs]
    text = printed(outputs)
    assert "6 briefs" in text
    seconds = float(re.search(r"batch seconds: ([0-9.]+)", text).group(1))
    assert seconds < 6 * 2 * LATENCY  # the items ran concurrently, not one after another


def test_explain_stats_and_timeline_display_rich(executed):
    explain_html = rich(outputs_of(executed, "display.report(brief)"), "text/html")
    assert len(explain_html) == 1 and 'class="ember-xcs-explain"' in explain_html[0]
    assert "<b>parallel groups" in explain_html[0]
    stats_html = rich(outputs_of(executed, "display.stats(brief)"), "text/html")
    assert len(stats_html) == 1 and "ember-xcs-stats" in stats_html[0]
    assert "op time added up" in stats_html[0]
    png = rich(outputs_of(executed, "display.timeline(brief)"), "image/png")
    assert len(png) == 1 and len(png[0]) > 5000  # base64 of a real chart


def test_model_calls_in_a_cell(executed):
    text = printed(outputs_of(executed, "from ember.api.models import models"))
    assert "[simulated]" in text and "simulated: True" in text


def test_top_level_await_of_async_ops_and_jitted_coroutines(executed):
    text = printed(outputs_of(executed, "import asyncio"))
    assert "definition of tide\n" in text
    terms = ["tide", "swell", "current", "fetch"]
    assert str([f"definition of {term}" for term in terms]) in text
    seconds = float(re.search(r"async jit seconds: ([0-9.]+)", text).group(1))
    # the four awaited lookups overlap: about one latency, far from the four of plain code
    assert LATENCY <= seconds < 2.5 * LATENCY, seconds
