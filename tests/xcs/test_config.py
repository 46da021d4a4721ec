from __future__ import annotations

import concurrent.futures

import pytest

from ember.xcs import Config, ConfigError, Presets, XCSError


def test_defaults() -> None:
    config = Config()
    assert config.parallel and config.cache and not config.redact
    assert config.workers == Config.DEFAULT_MAX_WORKERS
    assert config.executor == "thread"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("max_workers", 0, "must be > 0"),
        ("max_workers", -3, "must be > 0"),
        ("max_workers", "4", "positive int"),
        ("max_workers", True, "positive int"),
        ("timeout", 0, "> 0 seconds"),
        ("timeout", "soon", "number of seconds"),
        ("parallel", "yes", "must be a bool"),
        ("profile", 1, "must be a bool"),
        ("executor", "gpu", "must be one of"),
        ("hooks", "hook", "list or tuple"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config(**{field: value})
    assert f"Config.{field}" in str(caught.value)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, XCSError)


def test_unknown_field_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match=r"'max_worker' \(did you mean 'max_workers'\?\)"):
        Config(max_worker=3)  # type: ignore[call-arg]


def test_frozen_and_replace_validates() -> None:
    config = Config(max_workers=2)
    with pytest.raises(AttributeError):
        config.max_workers = 5  # type: ignore[misc]
    assert config.replace(max_workers=5).max_workers == 5
    with pytest.raises(ConfigError):
        config.replace(max_workers=0)
    with pytest.raises(ConfigError, match="unknown field"):
        config.replace(speed=3)


def test_executor_objects_are_accepted() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert Config(executor=pool).executor is pool


def test_profile_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_XCS_PROFILE", "1")
    assert Config().profile is True
    monkeypatch.setenv("EMBER_XCS_PROFILE", "0")
    assert Config().profile is False
    assert Config(profile=True).profile is True


def test_presets() -> None:
    assert Presets.SECURE.redact is True
    assert Presets.DEBUG.executor == "sync" and Presets.DEBUG.profile
    assert Presets.LIGHTWEIGHT.max_workers == 4
    assert Presets.SERIAL.parallel is False


def test_from_mapping_and_as_dict_round_trip() -> None:
    config = Config.from_mapping({"max_workers": 3, "timeout": 1.5})
    assert Config.from_mapping(config.as_dict()) == config
