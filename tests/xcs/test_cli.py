from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ember.xcs.cli import main


def test_demo_runs_and_reports(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "timeline.png"
    assert main(["demo", "--latency", "0.05", "--questions", "2", "--timeline", str(image)]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED" in out and "results identical" in out
    assert "parallel groups" in out and "timeline" in out
    assert image.exists() and image.stat().st_size > 1000


def test_explain_command(tmp_path: Path) -> None:
    (tmp_path / "mymod.py").write_text(
        "from ember.xcs import op\n"
        "@op\n"
        "def inc(x):\n    return x + 1\n"
        "def pair(x):\n    return [inc(x), inc(x + 1)]\n"
    )
    done = subprocess.run([sys.executable, "-m", "ember.xcs.cli", "explain", "mymod:pair", "3"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "parallel groups (1, widest 2)" in done.stdout


def test_bench_command(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "--latency", "0.01", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for shape in ("fan-out-64", "diamond", "ensemble+judge", "map-reduce", "chain"):
        assert shape in out
