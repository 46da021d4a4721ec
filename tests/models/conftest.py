"""Fixtures for the models tests: a fresh registry and a loopback server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ember.models import ModelsAPI, ProviderRegistry, SimulatedProvider
from ember.testing.loopback import LoopbackServer


@pytest.fixture
def registry() -> ProviderRegistry:
    fresh = ProviderRegistry()
    fresh.register("simulated", SimulatedProvider())
    return fresh


@pytest.fixture
def api(registry: ProviderRegistry) -> ModelsAPI:
    return ModelsAPI(registry)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running
