"""Shared helpers: run a snippet in a fresh interpreter with four forced CPU devices.

The main pytest process may already have imported JAX with one device, and the
device count is fixed at import, so multi-device checks run in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` set before ``import jax``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest


@pytest.fixture
def on_four_devices() -> Callable[[str], str]:
    """Run ``code`` with four CPU devices; returns its stdout (fails on a non-zero exit)."""

    def run(code: str) -> str:
        env = dict(os.environ)
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
        env["JAX_PLATFORMS"] = "cpu"
        prelude = "import jax\nassert len(jax.devices()) == 4, jax.devices()\n"
        completed = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
        return completed.stdout

    return run
