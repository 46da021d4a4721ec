"""Every example runs as a subprocess and exits 0 (offline: simulated or loopback)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ember.models.loopback import LoopbackServer

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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_exits_zero_and_prints(path):
    result = run_example(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


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
