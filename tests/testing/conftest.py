"""Fixtures for the ``ember.testing`` tests: a loopback server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ember.testing import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running
