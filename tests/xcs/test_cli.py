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


def test_cache_path_stats_clear(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ember.xcs.cache import SQLiteStore

    monkeypatch.setenv("EMBER_XCS_CACHE", str(tmp_path / "default.sqlite"))
    assert main(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "default.sqlite")
    store = SQLiteStore(tmp_path / "r.sqlite")
    for index in range(3):
        store.put(f"a{index}", "summarise", "x" * 100)
    store.put("b", "llm[judge]", "y")
    assert main(["cache", "stats", "--file", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert f"result cache: {store.path}" in out and "entries: 4" in out
    lines = [line.split() for line in out.splitlines()[2:]]
    assert lines == [["3", "summarise"], ["1", "llm[judge]"]]
    assert main(["cache", "clear", "--file", str(store.path), "--op", "summarise"]) == 0
    assert "removed 3 cached result(s) of op summarise" in capsys.readouterr().out
    assert main(["cache", "clear", "--file", str(store.path)]) == 0
    assert "removed 1 cached result(s)" in capsys.readouterr().out
    assert store.summary().entries == 0
