"""``Models``: constants read from the registry, shared names qualified, read-only."""

from __future__ import annotations

import pytest

import ember.models.catalog as catalog
from ember.models import Models, ProviderRegistry, SimulatedProvider
from ember.models.catalog import constant_name


def test_constant_names_are_upper_case_with_underscores() -> None:
    assert constant_name("claude-sonnet-4-5") == "CLAUDE_SONNET_4_5"
    assert constant_name("llama3.1:70b") == "LLAMA3_1_70B"
    assert constant_name("-odd--name.") == "ODD_NAME"


def test_models_follows_the_registry_and_qualifies_shared_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tiny(SimulatedProvider):
        known_models = ("tiny-1", "shared")

    class Other(SimulatedProvider):
        known_models = ("shared",)

    registry = ProviderRegistry()
    registry.register("tiny", Tiny())
    registry.register("other", Other())
    monkeypatch.setattr(catalog, "default_registry", lambda: registry)
    assert Models.TINY_1 == "tiny/tiny-1"
    assert (Models.TINY_SHARED, Models.OTHER_SHARED) == ("tiny/shared", "other/shared")
    with pytest.raises(AttributeError, match="SHARED"):
        Models.SHARED  # noqa: B018 - ambiguous, so absent
