"""benchmarks/_harness.py and run_all.py: tables, exit codes and the list of missed targets.

The benchmark scripts themselves are run by CI (``run_all.py --quick``); these tests
check the reporting they share, on tiny stand-in scripts.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _harness

    return _harness


def test_a_met_target_exits_zero_and_prints_one_table(harness, capsys, monkeypatch):
    monkeypatch.delenv(harness.SUMMARY_ENV, raising=False)
    report = harness.Report("bench_x: title", "method line")
    report.at_most("fan-out", 1.1, 1.3, "x", "asyncio.gather", "jit 11 ms")
    report.at_least("efficiency", 0.98, 0.97, "", "efficiency")
    report.info("for comparison", "5 ms")

    assert report.finish() == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == ["bench_x: title", "method line"]
    assert lines[2].split() == ["workload", "target", "measured", "verdict", "detail"]
    assert lines[3].split()[-5:] == ["1.1x", "met", "jit", "11", "ms"]
    assert "<= 1.3x asyncio.gather" in lines[3]
    assert ">= 0.97 efficiency" in lines[4] and lines[4].split()[-1] == "met"
    assert lines[5].split() == ["for", "comparison", "-", "5", "ms", "info"]
    assert lines[-1] == "targets: 0 missed of 2"


def test_a_missed_target_exits_3_and_writes_the_summary(harness, tmp_path, monkeypatch):
    summary = tmp_path / "missed.json"
    monkeypatch.setenv(harness.SUMMARY_ENV, str(summary))
    report = harness.Report("bench_x", "method")
    report.at_most("fan-out 1,000", 9.5, 1.3, "x", "asyncio.gather")
    report.at_least("efficiency", 0.99, 0.97, "", "efficiency")

    assert report.finish() == harness.MISSED_TARGET == 3
    rows = json.loads(summary.read_text())
    assert [(row["workload"], row["measured"], row["verdict"]) for row in rows] == [
        ("fan-out 1,000", "9.5x", "MISSED")]


def test_a_value_just_past_its_target_does_not_print_as_the_target(harness, monkeypatch):
    monkeypatch.delenv(harness.SUMMARY_ENV, raising=False)
    report = harness.Report("bench_x", "method")
    report.at_least("efficiency", 0.96994, 0.97, "", "efficiency")
    report.at_most("ratio", 1.0512, 1.05, "x", "JAX")
    report.at_most("exact", 1.05, 1.05, "x", "JAX")

    assert [(row.measured, row.verdict) for row in report.rows] == [
        ("0.9699", "MISSED"), ("1.051x", "MISSED"), ("1.05x", "met")]


def test_compare_times_every_side_the_same_way(harness):
    calls = {"plain": 0, "jit": 0}

    def side(name):
        def run():
            calls[name] += 1
            return name

        return run

    timings, values = harness.compare({"plain": side("plain"), "jit": side("jit")},
                                      warmup=2, repeats=5)

    assert calls == {"plain": 7, "jit": 7}
    assert {name: len(timing.samples) for name, timing in timings.items()} == {
        "plain": 5, "jit": 5}
    assert values == {"plain": "plain", "jit": "jit"}
    assert timings["jit"].median == sorted(timings["jit"].samples)[2]


def test_a_wrong_result_fails_the_script(harness):
    with pytest.raises(SystemExit) as stopped:
        harness.check_equal("fan-out", [1, 2], [1, 3])
    assert "FAILED: fan-out: got [1, 2], expected [1, 3]" == str(stopped.value.code)


def _stand_in(folder: Path, name: str, body: str) -> None:
    (folder / name).write_text(
        "import sys\nfrom _harness import Report\n"
        "report = Report('title', 'method')\n" + body)


def _runner(folder: Path) -> None:
    """run_all.py and the harness, with an empty pytest-benchmark module, in ``folder``."""
    for name in ("run_all.py", "_harness.py"):
        shutil.copy(BENCHMARKS / name, folder / name)
    (folder / "test_benchmarks.py").write_text("def test_nothing():\n    pass\n")


def test_run_all_lists_missed_targets_and_failures_at_the_end(tmp_path):
    _runner(tmp_path)
    _stand_in(tmp_path, "bench_a.py",
              "report.at_most('wide fan-out', 9.5, 1.3, 'x', 'gather')\n"
              "raise SystemExit(report.finish())\n")
    _stand_in(tmp_path, "bench_b.py",
              "report.at_least('efficiency', 0.99, 0.97, '', 'efficiency')\n"
              "raise SystemExit(report.finish())\n")
    _stand_in(tmp_path, "bench_c.py", "raise SystemExit('FAILED: wrong result')\n")

    done = subprocess.run([sys.executable, str(tmp_path / "run_all.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)

    assert done.returncode == 1  # a script failed; misses alone would exit 0
    tail = done.stdout[done.stdout.index("SUMMARY of benchmarks/run_all.py"):].splitlines()
    assert tail[1:6] == [
        "MISSED TARGETS: 1",
        "  bench_a.py: wide fan-out: measured 9.5x, target <= 1.3x gather",
        "FAILED SCRIPTS: 1",
        "  bench_c.py (exit 1)",
        "=" * 88,
    ]


def test_run_all_exits_zero_when_targets_are_only_missed(tmp_path):
    _runner(tmp_path)
    _stand_in(tmp_path, "bench_a.py",
              "report.at_most('wide fan-out', 9.5, 1.3, 'x', 'gather')\n"
              "raise SystemExit(report.finish())\n")

    done = subprocess.run([sys.executable, str(tmp_path / "run_all.py")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "MISSED TARGETS: 1" in done.stdout and "FAILED SCRIPTS: 0" in done.stdout


def test_performance_doc_describes_every_script():
    text = (ROOT / "docs" / "performance.md").read_text()
    scripts = sorted(path.name for path in BENCHMARKS.glob("bench_*.py"))
    assert len(scripts) >= 7
    for name in [*scripts, "run_all.py", "test_benchmarks.py"]:
        assert f"benchmarks/{name}" in text, f"docs/performance.md does not describe {name}"
