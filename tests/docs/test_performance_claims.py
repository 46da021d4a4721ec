"""docs/performance.md says what the code does: the stats figures, costs, caps, benchmarks.

The page's examples run in ``tests/test_docs.py``; the benchmark harness (tables, exit
codes, ``run_all.py``'s summary) is checked in
``tests/integration/test_benchmark_reporting.py``. Here: the formulas of the figures,
the numbers and options the benchmark table gives for each script, and what the
scripts share.
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import pytest

from ember.testing.shapes import SHAPES, make_op
from ember.xcs import Config, get_jit_stats, jit, op
from ember.xcs.cli import _parser
from tests.docs._pages import ROOT, page, prose, section, spans, table

PERFORMANCE = page("performance.md")
BENCHMARKS = ROOT / "benchmarks"


@op
def _nap(name: str, *inputs: object) -> str:
    time.sleep(0.02)
    return name


@jit(config=Config(profile=True))
def _diamond() -> str:
    top = _nap("top")
    left, right = _nap("left", top), _nap("right", top)
    return _nap("bottom", left, right)


def test_the_figures_are_the_documented_ratios_of_the_measured_times() -> None:
    text = section(PERFORMANCE, "Reading the stats")
    measured = [spans(row[0])[0] for row in table(text)]
    assert measured == ["op_time_ms", "critical_path_ms", "wall_ms"]
    formulas = re.findall(r"`(\w+) = (\w+) / (\w+)`", text)
    assert [name for name, _, _ in formulas] == ["overlap", "efficiency"]
    _diamond()
    stats = get_jit_stats(_diamond)
    assert all(isinstance(stats[name], float) and stats[name] > 0 for name in measured)
    for name, numerator, denominator in formulas:
        assert stats[name] == pytest.approx(stats[numerator] / stats[denominator], rel=0.01)
    assert "(at most 1)" in text and stats["efficiency"] <= 1
    assert stats["op_time_ms"] >= 4 * 20 and stats["critical_path_ms"] >= 3 * 20


def test_timelines_are_drawn_by_the_named_functions() -> None:
    from ember.xcs import timeline

    text = prose(section(PERFORMANCE, "Reading the stats"))
    assert "`ember.xcs.timeline.render_timeline_text` draws them as text, and " \
        "`save_timeline` as an image" in text
    _diamond()
    timings = get_jit_stats(_diamond)["node_timings"]
    assert [entry["name"] for entry in timings] == ["_nap"] * 4
    drawn = timeline.render_timeline_text(timings, width=40)
    assert drawn.count("_nap") >= 4
    assert callable(timeline.save_timeline)


def test_only_huge_calls_and_new_auto_structures_pay_for_analysis_as_they_end() -> None:
    from ember.xcs.tracing.log import GRAPH_LIMIT

    costs = prose(section(PERFORMANCE, "What costs what"))
    (limit,) = re.findall(r"a call of more than ([\d,]+) nodes", costs)
    assert int(limit.replace(",", "")) == GRAPH_LIMIT
    assert 'a `structural_jit(execution_strategy="auto")` call whose graph has a ' \
        "structure the function has not had before" in costs
    # The call path itself is checked in test_architecture_claims (no analysis runs).


# -- the benchmark table ---------------------------------------------------------------


def _benchmark_rows() -> list[list[str]]:
    text = section(PERFORMANCE, "Benchmarks")
    return table(text.split("**Exit codes.**")[1])


def _script(row: list[str]) -> Path | None:
    found = re.search(r"benchmarks/(\w+\.py)", row[0])
    return BENCHMARKS / found.group(1) if found else None


def _options(path: Path) -> set[str]:
    """The command-line options ``path`` declares with argparse (hidden ones aside)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            hidden = any(isinstance(k.value, ast.Attribute) and k.value.attr == "SUPPRESS"
                         for k in node.keywords if k.arg == "help")
            names = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if not hidden:
                found |= {name for name in names if name.startswith("--")}
    return found


def _numbers(path: Path) -> set[float]:
    """Every number written in ``path``'s code (``1_000`` and ``0.05`` alike)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {float(node.value) for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, int | float) and not isinstance(node.value, bool)}


def test_every_command_shows_exactly_the_options_of_its_script() -> None:
    rows = _benchmark_rows()
    assert len(rows) == 10
    for row in rows:
        shown = set(re.findall(r"\[(--[\w-]+)", row[0]))
        path = _script(row)
        if path is None:
            assert row[0].startswith("`ember-xcs bench")
            commands = next(a.choices for a in _parser()._actions if isinstance(a.choices, dict))
            real = {o for a in commands["bench"]._actions for o in a.option_strings
                    if o.startswith("--")} - {"--help"}
        elif path.name == "test_benchmarks.py":
            real = {"--benchmark-only"}
            shown = set(re.findall(r"(--[\w-]+)", row[0]))
        else:
            real = _options(path)
        assert shown == real, f"{row[0]}: the script has {sorted(real)}"


def test_every_number_a_row_gives_is_in_its_scripts_code() -> None:
    """Targets, sizes and latencies: a number changed in a script fails this test until
    the page says the new one (ms and µs may be written as seconds in the code)."""
    shapes = _numbers(ROOT / "src" / "ember" / "testing" / "shapes.py")
    checked = 0
    for row in _benchmark_rows():
        path = _script(row)
        if path is None:
            continue
        code = path.read_text(encoding="utf-8")
        known = _numbers(path) | shapes
        text = re.sub(r"\(issue \d+\)", "", row[1] + " " + row[2])
        for major, minor in re.findall(r"CPython (\d)\.(\d+)", text):
            assert f"({major}, {minor})" in code, f"{path.name}: CPython {major}.{minor}"
        text = re.sub(r"CPython \d\.\d+", "", text)
        for number, unit in re.findall(r"(\d[\d,]*(?:\.\d+)?)\s*(ms|µs|s\b)?", text):
            value = float(number.replace(",", ""))
            scale = {"ms": 1e-3, "µs": 1e-6}.get(unit, 1.0)
            assert any(abs(candidate - n) < 1e-12 for n in known
                       for candidate in {value, value * scale}), \
                f"{path.name}: the page says {number}{unit}, the code never does"
            checked += 1
    assert checked > 40


def test_the_dag_workloads_are_the_ones_named() -> None:
    row = next(row for row in _benchmark_rows() if "bench_core.py" in row[0])
    (named,) = re.findall(r"of `ember\.testing\.shapes` \(([^)]*)\)", row[1])
    workloads = tuple(name.strip() for name in named.split(","))
    for script, constant in (("bench_core.py", "WORKLOADS"), ("bench_fanout.py", "DAG_WORKLOADS")):
        tree = ast.parse((BENCHMARKS / script).read_text(encoding="utf-8"))
        (value,) = [ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign)
                    and [getattr(t, "id", None) for t in node.targets] == [constant]]
        assert value == workloads, script
    shapes_row = next(row for row in _benchmark_rows() if "bench_shapes.py" in row[0])
    assert "the six shapes of `ember.testing.shapes` (the five above and a chain of 4)" \
        in shapes_row[1]
    assert len(SHAPES) == 6 and [name for name in SHAPES if name not in workloads] == ["chain"]
    assert SHAPES["chain"].op_calls == SHAPES["chain"].critical_path_calls == 4


def test_every_script_fails_on_a_wrong_result() -> None:
    for path in sorted(BENCHMARKS.glob("bench_*.py")):
        calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_equal"]
        assert calls, f"{path.name} never checks a result"


def test_ci_runs_the_quick_benchmarks() -> None:
    assert "CI runs `run_all.py --quick`." in prose(section(PERFORMANCE, "Benchmarks"))
    steps = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "    python benchmarks/run_all.py --quick" in steps


def test_the_shapes_module_offers_what_the_page_shows() -> None:
    text = prose(PERFORMANCE.split("The shapes live in")[1])
    assert "`SHAPES[name].build(call)` builds the plain program over any callable" in text
    assert "`make_op(latency)` gives an op that sleeps" in text
    calls: list[str] = []

    def call(tag: str, *inputs: object) -> str:
        calls.append(tag)
        return tag

    SHAPES["diamond"].build(call)()
    assert len(calls) == SHAPES["diamond"].op_calls
    started = time.perf_counter()
    make_op(0.03)("probe")
    assert time.perf_counter() - started >= 0.03
