"""pyember's ``Config``, ``Presets``, ``get_jit_stats`` and ``XCSError``, as its docs use them.

pyember's ``Config`` has ``parallel``, ``cache``, ``profile``, ``max_workers`` and
``max_memory_mb`` (a soft ceiling, ``None`` disables it), ``to_dict()`` (a read-only
mapping) and ``apply_overrides(mapping)`` (a validated copy; unknown keys raise
``XCSError``); ``get_jit_stats(func=None)``; ``XCSError`` is a ``RuntimeError``.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from ember.xcs import (
    Config,
    ConfigError,
    Presets,
    TransformError,
    XCSError,
    XCSTimeoutError,
    get_jit_stats,
    grad,
    jit,
    op,
)

ROOT = Path(__file__).resolve().parents[2]
PYEMBER_FIELDS = ("parallel", "cache", "profile", "max_workers", "max_memory_mb")


# -- Config fields -------------------------------------------------------------------


def test_pyember_constructor_call_works():
    config = Config(parallel=True, cache=True, profile=False, max_workers=2, max_memory_mb=None)
    assert (config.parallel, config.cache, config.profile, config.max_workers,
            config.max_memory_mb) == (True, True, False, 2, None)


@pytest.mark.parametrize("value", [512, 1, 10**6])
def test_a_memory_ceiling_is_refused_with_the_reason_and_the_alternatives(value):
    with pytest.raises(ConfigError) as caught:
        Config(max_memory_mb=value)
    message = str(caught.value)
    assert message.startswith(f"Config.max_memory_mb must be None (got int {value})")
    assert "cannot enforce a memory ceiling" in message
    assert "max_workers=N" in message and "RLIMIT_AS" in message


@pytest.mark.parametrize(("value", "shown"), [(0, "int 0"), (-5, "int -5"), ("512", "str '512'"),
                                              (True, "bool True"), (1.5, "float 1.5")])
def test_bad_memory_values_name_their_type_like_every_field(value, shown):
    with pytest.raises(ConfigError, match=re.escape(f"must be None (got {shown})")):
        Config(max_memory_mb=value)


def test_every_way_to_set_the_ceiling_is_checked():
    for attempt in (lambda: Config().replace(max_memory_mb=64),
                    lambda: Config().apply_overrides({"max_memory_mb": 64}),
                    lambda: Config.from_mapping({"max_memory_mb": 64})):
        with pytest.raises(ConfigError, match="max_memory_mb must be None"):
            attempt()
    assert Config().apply_overrides({"max_memory_mb": None}).max_memory_mb is None


def test_pyember_rejected_non_positive_workers_with_xcs_error():
    with pytest.raises(XCSError, match="max_workers must be > 0"):
        Config(max_workers=0)


# -- to_dict and apply_overrides -------------------------------------------------------


def test_to_dict_holds_pyember_keys_and_every_field():
    config = Config(max_workers=3, parallel=False)
    settings = config.to_dict()
    for key in PYEMBER_FIELDS:
        assert key in settings
    assert settings["max_workers"] == 3 and settings["parallel"] is False
    assert dict(settings) == config.as_dict()
    assert Config(**settings) == config


def test_to_dict_is_read_only():
    settings = Config().to_dict()
    with pytest.raises(TypeError):
        settings["max_workers"] = 8  # type: ignore[index]
    editable = dict(settings)
    editable["max_workers"] = 8
    assert Config(**editable).max_workers == 8 and Config().max_workers is None


def test_apply_overrides_returns_a_validated_copy():
    base = Config(max_workers=2)
    changed = base.apply_overrides({"max_workers": 5, "profile": True})
    assert (changed.max_workers, changed.profile) == (5, True)
    assert (base.max_workers, base.profile) == (2, False)
    assert base.apply_overrides(None) is base and base.apply_overrides({}) is base
    with pytest.raises(ConfigError, match="Config.max_workers must be > 0"):
        base.apply_overrides({"max_workers": 0})


def test_apply_overrides_rejects_unknown_keys_as_xcs_error_with_a_suggestion():
    with pytest.raises(XCSError, match=r"'max_worker' \(did you mean 'max_workers'\?\)"):
        Config().apply_overrides({"max_worker": 4})


@pytest.mark.parametrize("overrides", [[("max_workers", 2)], "max_workers=2", {1: 2}])
def test_apply_overrides_needs_a_mapping_of_names(overrides):
    with pytest.raises(ConfigError, match="Config.apply_overrides"):
        Config().apply_overrides(overrides)  # type: ignore[arg-type]


def test_overridden_config_changes_what_runs():
    """``apply_overrides({"max_workers": 1})`` really caps the ops running at once."""
    lock = threading.Lock()
    running = peak = 0

    @op
    def slow(x):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.03)
        with lock:
            running -= 1
        return x

    def fan_out(n):
        return [slow(i) for i in range(n)]

    assert jit(fan_out, config=Config().apply_overrides({"max_workers": 1}))(4) == [0, 1, 2, 3]
    assert peak == 1
    peak = 0
    assert jit(fan_out, config=Config().apply_overrides({"max_workers": 4}))(4) == [0, 1, 2, 3]
    assert peak > 1


# -- Presets -----------------------------------------------------------------------------


def test_presets_match_the_table_in_docs_compat():
    """The documented contents of each preset are its real settings."""
    text = (ROOT / "docs" / "compat.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `Presets\.(\w+)` \| `([^`]*)` \| `([^`]*)` \|", text, re.MULTILINE)
    assert {name for name, _, _ in rows} == {"SECURE", "DEBUG", "LIGHTWEIGHT", "SERIAL"}
    for name, ours, _pyember in rows:
        preset = getattr(Presets, name)
        assert isinstance(preset, Config)
        expected = eval(f"dict({ours})")  # the documented settings, e.g. redact=True
        assert {key: getattr(preset, key) for key in expected} == expected, name


# -- get_jit_stats(func=...) ------------------------------------------------------------------


def test_get_jit_stats_takes_pyember_keyword():
    @jit
    def double(x):
        return 2 * x

    double(1)
    double(2)
    by_keyword = get_jit_stats(func=double)
    assert by_keyword["calls"] == 2 == get_jit_stats(double)["calls"]
    assert by_keyword["name"] == get_jit_stats(double)["name"]


def test_get_jit_stats_keyword_errors():
    @jit
    def once(x):
        return x

    with pytest.raises(TypeError, match="not both"):
        get_jit_stats(once, func=once)
    with pytest.raises(XCSError, match="not a jitted function"):
        get_jit_stats(func=len)
    assert isinstance(get_jit_stats(), dict)


def test_xcs_api_object_takes_the_keyword_too():
    from ember.xcs.api.core import XCSAPI

    @jit
    def inc(x):
        return x + 1

    inc(1)
    assert XCSAPI().get_jit_stats(func=inc)["calls"] == 1


# -- XCSError is a RuntimeError ----------------------------------------------------------------


def test_xcs_errors_are_runtime_errors_and_keep_their_standard_types():
    assert issubclass(XCSError, RuntimeError)
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, RuntimeError)
    assert issubclass(XCSTimeoutError, TimeoutError) and issubclass(XCSTimeoutError, RuntimeError)


def test_except_runtime_error_catches_what_xcs_raises():
    import jax.numpy as jnp

    @op
    def score(text):
        return 0.5

    caught = []
    for attempt in (lambda: Config(max_workers=-1),
                    lambda: grad(lambda weights: score("a prompt"))(jnp.ones(2))):
        try:
            attempt()
        except RuntimeError as error:
            caught.append(type(error))
    assert caught[0] is ConfigError and issubclass(caught[1], TransformError)


def test_a_timeout_is_caught_as_runtime_error():
    @op
    def sleepy(x):
        time.sleep(0.5)
        return x

    slow = jit(lambda x: sleepy(x), config=Config(timeout=0.05))
    with pytest.raises(RuntimeError) as caught:
        slow(1)
    assert isinstance(caught.value, XCSTimeoutError)


def test_user_errors_stay_what_they_were():
    @op
    def fails(x):
        raise KeyError(x)

    with pytest.raises(KeyError) as caught:
        jit(lambda x: fails(x))("missing")
    assert not isinstance(caught.value, XCSError)
