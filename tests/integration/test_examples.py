"""Every example runs as a subprocess and exits 0 (offline: simulated or loopback).

An example that compares its jitted result with plain Python prints
``identical: <fast == plain>``; the test reads that value and requires ``True``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ember.testing.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for variable in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
    ):
        env.pop(variable, None)
    return subprocess.run(
        [sys.executable, str(path), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_examples_exist():
    names = {path.name for path in EXAMPLES}
    assert "real_provider.py" in names and len(names) >= 6
    comparing = {path.name for path in EXAMPLES if _prints_identity(path)}
    assert {"02_ensemble_judge.py", "03_map_reduce.py", "05_batch_dataset.py"} <= comparing


def _prints_identity(path):
    return "identical: {" in path.read_text()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_exits_zero_and_matches_plain_python(path):
    result = run_example(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    if _prints_identity(path):
        printed = re.findall(r"identical: (\S+)", result.stdout)
        assert printed, f"{path.name} printed no identity check:\n{result.stdout}"
        assert all(value == "True" for value in printed), (
            f"{path.name}: the jitted result differs from plain Python:\n{result.stdout}")


def test_real_provider_against_the_loopback_server():
    with LoopbackServer() as server:
        result = run_example(
            ROOT / "examples" / "real_provider.py",
            "--base-url",
            server.openai_base_url,
            "--model",
            "tiny",
        )
        requests = server.stats().requests
    assert result.returncode == 0, result.stderr
    assert "openai/tiny: [loopback tiny] What is the capital of France?" in result.stdout
    assert requests == 4


def test_real_provider_streams_against_the_loopback_server():
    with LoopbackServer() as server:
        result = run_example(
            ROOT / "examples" / "real_provider.py",
            "--base-url",
            server.openai_base_url,
            "--model",
            "tiny",
            "--stream",
        )
        stats = server.stats()
    assert result.returncode == 0, result.stderr
    assert "[loopback tiny] Name three rivers of Africa, one line each." in result.stdout
    assert (stats.requests, stats.streamed) == (5, 1)
    jitted = int(re.search(r"'total_tokens': (\d+)", result.stdout).group(1))
    streamed = int(re.search(r"streamed: (\d+) tokens", result.stdout).group(1))
    assert streamed > 0 and jitted + streamed == stats.usage.total_tokens
