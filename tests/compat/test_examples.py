"""pyember-style examples run unchanged and print what they claim (checked, not just run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")
pytest.importorskip("optax")

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "pyember/zero_config_jit.py": ["drafts: 4", "identical: True", "jit calls: 1"],
    "pyember/batch_processing.py": ["identical: True"],
    "pyember/jit_basics.py": ["normalized mean ~ 0: True", "tensor mode: tensor",
                              "summaries: 2", "identical: True"],
    "pyember/optimization_with_scan.py": ["loss decreased: True", "final loss < 1e-4: True",
                                          "matches jax.lax.scan: True"],
    "pyember/jax_xcs_integration.py": ["scorer is hybrid: True", "gradient is an Operator: True",
                                       "loss decreased: True", "reply is simulated: True"],
    "learnable_router.py": ["loss decreased: True", "routing accuracy: 1.00",
                            "answers: 8 from ['careful', 'fast']", "identical: True",
                            "jit calls: 1"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_prints_what_it_claims(name):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name)],
                            capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for expected in EXPECTED[name]:
        assert expected in lines, (expected, result.stdout)
    if name == "learnable_router.py":  # "loss: 0.474 -> 0.170": the numbers, decreasing
        first, last = (float(v) for v in lines[0].split(": ")[1].split(" -> "))
        assert last < first

