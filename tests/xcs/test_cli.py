from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ember.xcs.cli import main


def test_demo_runs_and_reports(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "timeline.png"
    assert main(["demo", "--latency", "0.05", "--questions", "2", "--timeline", str(image)]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED" in out and "results identical" in out
    assert "parallel groups" in out and "timeline" in out
    assert image.exists() and image.stat().st_size > 1000
    plain = re.search(r"^plain Python: +([\d.]+) ms$", out, re.M)
    header = next(line for line in out.splitlines() if line.startswith("timeline: "))
    assert plain is not None and "estimate" not in out  # the plain run was measured
    assert re.search(rf"; plain Python {plain[1]} ms measured \([\d.]+x\)$", header), header


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


def test_bench_times_plain_and_jit_the_same_way(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One warm-up and --repeat timed calls on each side: every op body runs as often."""
    from ember.testing import shapes

    bodies: list[str] = []
    real_make_op = shapes.make_op

    def counting_make_op(latency: float):  # type: ignore[no-untyped-def]
        real = real_make_op(latency).fn

        def call(tag, *inputs):  # type: ignore[no-untyped-def]
            bodies.append(tag)
            return real(tag, *inputs)

        return shapes.Op(call, name="call")

    monkeypatch.setattr(shapes, "make_op", counting_make_op)
    assert main(["bench", "--latency", "0", "--repeat", "3"]) == 0

    expected = sum(shape.op_calls for shape in shapes.SHAPES.values()) * 2 * (1 + 3)
    assert len(bodies) == expected


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


# -- first-hour friction: one-line errors with the fix, --version, help ---------------




def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ember.xcs.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pipeline.py").write_text(
        "from ember.xcs import op\n"
        "@op\n"
        "def shout(text):\n    return text.upper()\n"
        "def summarise(text):\n    return [shout(text), shout(text + '!')]\n"
        "def broken(text):\n    raise ValueError('no summary for ' + text)\n"
        "def both():\n    return [shout('a'), shout('b')]\n"
        "answer = 42\n"
    )
    (tmp_path / "needs_dep.py").write_text("import not_installed_anywhere\n")
    return tmp_path


def test_explain_non_json_argument(project: Path) -> None:
    done = _cli("explain", "pipeline:summarise", "tidal power", cwd=project)
    _one_line_error(done, "ember-xcs explain: error: argument 1 'tidal power' is not JSON",
                    "'\"tidal power\"'")


def test_explain_json_argument_works(project: Path) -> None:
    done = _cli("explain", "pipeline:summarise", '"tidal power"', cwd=project)
    assert done.returncode == 0, done.stderr
    assert "parallel groups (1, widest 2)" in done.stdout


@pytest.mark.parametrize(
    ("target", "fragments"),
    [
        ("pipelines:summarise", ["cannot import module 'pipelines'", "no pipelines.py here"]),
        ("pipeline:summarize", ["pipeline has no attribute 'summarize'",
                                "(did you mean 'summarise'?)"]),
        ("pipeline", ["expected module:function (e.g. pipeline:summarise"]),
        ("pipeline:answer", ["pipeline:answer is a int, not a function"]),
        ("needs_dep:f", ["importing 'needs_dep' failed: it imports 'not_installed_anywhere'"]),
        ("pipeline.py:summarise", ["'pipeline.py' is a file path",
                                   "use pipeline:summarise from this directory"]),
        ("./pipeline.py:summarise", ["is a file path", "use pipeline:summarise"]),
        ("src/pipeline:summarise", ["use pipeline:summarise from the directory src"]),
        (".pipeline:summarise", ["relative module name", "(pipeline:summarise)"]),
    ],
)
def test_explain_bad_targets(project: Path, target: str, fragments: list[str]) -> None:
    _one_line_error(_cli("explain", target, "1", cwd=project), *fragments)


def test_explain_function_that_raises(project: Path) -> None:
    done = _cli("explain", "pipeline:broken", '"x"', cwd=project)
    _one_line_error(done, "pipeline:broken raised ValueError: no summary for x",
                    "--traceback")
    full = _cli("explain", "--traceback", "pipeline:broken", '"x"', cwd=project)
    assert full.returncode == 1 and "Traceback (most recent call last)" in full.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["demo", "--latency", "-1"], "--latency: expected seconds between 0 and 60, got -1"),
        (["demo", "--latency", "nan"], "--latency: expected seconds between 0 and 60"),
        (["demo", "--latency", "fast"], "--latency: expected a number of seconds, got 'fast'"),
        (["demo", "--questions", "0"], "--questions: expected a whole number >= 1, got 0"),
        (["bench", "--repeat", "0"], "--repeat: expected a whole number >= 1, got 0"),
        (["bench", "--latency", "-0.5"], "--latency: expected seconds between 0 and 60"),
        (["cache", "wipe"], "invalid choice: 'wipe'"),
        (["cache", "stats", "--op", "x"], "--op only applies to 'cache clear'"),
        (["demo", "--timeline", "x.txt"], "the extension must be one of .png"),
        (["demo", "--bogus"], "ember-xcs demo: error: unrecognized arguments: --bogus "
                              "(see ember-xcs demo --help)"),
        (["explain"], "required: MODULE:FUNCTION (see"),  # the JSON arguments are optional
    ],
)
def test_bad_options_are_one_line(args: list[str], fragment: str) -> None:
    done = _cli(*args)
    _one_line_error(done, fragment)
    assert "(see ember-xcs" in done.stderr or "ember-xcs " in done.stderr


def test_timeline_without_matplotlib_is_refused_before_the_demo_runs(tmp_path: Path) -> None:
    # A sitecustomize that hides matplotlib from the child, as on a machine without it.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import importlib.util\n"
        "_real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'matplotlib' "
        "else _real(name, *a)\n"
    )
    import os

    env = {**os.environ, "PYTHONPATH": str(hide)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ember.xcs.cli", "demo", "--latency", "1",
                           "--timeline", str(tmp_path / "x.png")], capture_output=True,
                          text=True, timeout=120, env=env)
    _one_line_error(done, "--timeline: a timeline image needs matplotlib",
                    "pip install 'ember-xcs[plot]'")
    assert time.perf_counter() - started < 20  # the 18 one-second model calls never ran


def test_version() -> None:
    from importlib.metadata import version

    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"ember-xcs {version('ember-xcs')}"


@pytest.mark.parametrize("command", ["demo", "explain", "bench", "cache"])
def test_every_argument_has_help_and_no_rst(command: str) -> None:
    from ember.xcs.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.dest} has no help"
    text = sub.format_help() + parser.format_help()
    assert "``" not in text and ":func:" not in text


def test_top_level_help_lists_commands() -> None:
    done = _cli("--help")
    assert done.returncode == 0
    for command in ("demo", "explain", "bench", "cache"):
        assert f"  {command} " in done.stdout
    assert "``" not in done.stdout


def test_explain_without_arguments_calls_the_function_with_none(project: Path) -> None:
    done = _cli("explain", "pipeline:both", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "parallel groups (1, widest 2)" in done.stdout
    help_text = _cli("explain", "--help", cwd=project).stdout
    assert "optional" in help_text


def test_explain_awaits_an_async_function(tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text(
        "from ember.xcs import op\n"
        "@op\n"
        "def shout(text):\n    return text.upper()\n"
        "async def both(text='x'):\n    return [shout(text), shout(text + '!')]\n"
    )
    for args in (["agent:both", '"hi"'], ["agent:both"]):
        done = _cli("explain", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "never awaited" not in done.stderr
        assert "calls so far: 1" in done.stdout and "widest 2" in done.stdout


def test_cache_commands_on_a_file_that_is_not_a_store_are_one_line(tmp_path: Path) -> None:
    import os

    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n")
    for action in ("stats", "clear"):
        _one_line_error(_cli("cache", action, "--file", str(junk)),
                        f"--file {junk} cannot be used as the result cache",
                        "--file PATH or $EMBER_XCS_CACHE")
    env = {**os.environ, "EMBER_XCS_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "ember.xcs.cli", "cache", "stats"],
                          capture_output=True, text=True, timeout=120, env=env)
    _one_line_error(done, f"$EMBER_XCS_CACHE {tmp_path} is a directory")


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    child = subprocess.Popen([sys.executable, "-m", "ember.xcs.cli", "demo", "--latency", "0",
                              "--questions", "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # as `| head -0` does: the first line already meets a closed pipe
    errors = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141, errors
    assert errors == ""
