from __future__ import annotations

import concurrent.futures

import pytest

from ember.xcs import (
    Config,
    ConfigError,
    Presets,
    XCSError,
    execution_options,
    jit,
    op,
    register_hook,
)
from ember.xcs.config import MAX_TIMEOUT


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


def test_an_unknown_profile_switch_is_refused_with_the_words_that_work(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("EMBER_XCS_PROFILE", "enabled")
    with pytest.raises(ConfigError) as refused:
        Config()
    message = str(refused.value)
    assert "EMBER_XCS_PROFILE='enabled'" in message and "1, true, yes, on" in message
    assert Config(profile=False).profile is False  # a value given in the code wins
    done = subprocess.run([sys.executable, "-c", "import ember.xcs"], capture_output=True,
                          text=True, timeout=60)  # the presets are built at import
    assert done.returncode == 1 and "is not a switch" in done.stderr.splitlines()[-1]


def test_presets() -> None:
    assert Presets.SECURE.redact is True
    assert Presets.DEBUG.executor == "sync" and Presets.DEBUG.profile
    assert Presets.LIGHTWEIGHT.max_workers == 4
    assert Presets.SERIAL.parallel is False


def test_from_mapping_and_as_dict_round_trip() -> None:
    config = Config.from_mapping({"max_workers": 3, "timeout": 1.5})
    assert Config.from_mapping(config.as_dict()) == config


# -- every bad setting, for Config and execution_options alike (issue 10, item 8) ------

BAD_TIMEOUTS = [
    (float("inf"), "finite number of seconds, got inf; use None for no time limit"),
    (float("-inf"), "must be > 0 seconds, got -inf"),
    (1e12, "at most 31536000 s (one year), got 1e+12; use None"),
    (float("nan"), "got nan (not a number)"),
    (-5, "must be > 0 seconds, got -5"),
    (0, "must be > 0 seconds, got 0"),
    (0.0, "must be > 0 seconds, got 0"),
    ("10", "number of seconds or None, got str '10'"),
    (True, "number of seconds or None, got bool True"),
    ([1], "number of seconds or None, got list [1]"),
]


@pytest.mark.parametrize(("value", "fragment"), BAD_TIMEOUTS)
def test_config_rejects_bad_timeouts(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config(timeout=value)
    assert str(caught.value).startswith("Config.timeout ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(("value", "fragment"), BAD_TIMEOUTS)
def test_execution_options_rejects_the_same_timeouts(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        execution_options(timeout=value)
    assert str(caught.value).startswith("execution_options(timeout=...) ")
    assert fragment in str(caught.value)


def test_largest_timeout_is_accepted_and_runs() -> None:
    """One year is the bound; a call with it runs (no overflow in the engine's waits)."""
    config = Config(timeout=MAX_TIMEOUT)

    @op
    def inc(x):
        return x + 1

    assert jit(lambda x: [inc(x), inc(x + 1)], config=config)(1) == [2, 3]
    assert execution_options(timeout=MAX_TIMEOUT).timeout == MAX_TIMEOUT
    assert Config(timeout=0.5).timeout == 0.5 and Config(timeout=3).timeout == 3


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "must be > 0, got 0; use a positive number of workers, or None"),
        (-1, "must be > 0, got -1"),
        (2.5, "positive int or None, got float 2.5"),
        ("8", "positive int or None, got str '8'"),
        (False, "positive int or None, got bool False"),
    ],
)
def test_workers_checked_the_same_way_in_both(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^Config.max_workers ") as caught:
        Config(max_workers=value)
    assert fragment in str(caught.value)
    with pytest.raises(ConfigError, match=r"^execution_options\(max_workers=...\) ") as caught:
        execution_options(max_workers=value)
    assert fragment in str(caught.value)


class _GoodHook:
    def on_node_end(self, event):
        pass


class _NotCallable:
    on_node_end = 3


@pytest.mark.parametrize(
    ("hooks", "fragment"),
    [
        ([1, "x"], "item 0 is not a hook: int 1 has none of the hook methods"),
        ([_GoodHook(), "x"], "item 1 is not a hook: str 'x' has none of the hook methods"),
        ([_GoodHook], "_GoodHook is a class; pass an instance: _GoodHook()"),
        ([object()], "has none of the hook methods (on_graph_start"),
        ([_NotCallable()], "has on_node_end, but it is not callable"),
        (_GoodHook(), "must be a list or tuple of hooks, got _GoodHook"),
        (None, "must be a list or tuple of hooks, got NoneType None"),
        ({_GoodHook()}, "must be a list or tuple of hooks, got set"),
    ],
)
def test_hooks_must_implement_the_protocol(hooks: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config(hooks=hooks)
    assert str(caught.value).startswith("Config.hooks")
    assert fragment in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        execution_options(hooks=hooks)
    assert str(caught.value).startswith("execution_options(hooks=...)")
    assert fragment in str(caught.value)


def test_single_hook_gets_a_wrap_it_hint() -> None:
    with pytest.raises(ConfigError, match=r"wrap a single hook in a list: hooks=\[hook\]"):
        Config(hooks=_GoodHook())


def test_valid_hooks_are_kept_in_order() -> None:
    first, second = _GoodHook(), _GoodHook()
    assert Config(hooks=[first, second]).hooks == (first, second)
    assert execution_options(hooks=[first]).hooks == (first,)


def test_register_hook_checks_the_protocol() -> None:
    with pytest.raises(ConfigError, match="register_hook: not a hook: int 5"):
        register_hook(5)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("gpu", "must be one of 'thread', 'sync', 'process'"),
        ("threads", "(did you mean 'thread'?)"),
        (concurrent.futures.ThreadPoolExecutor, "pass an instance"),
        (3, "got int 3"),
    ],
)
def test_executor_checked_the_same_way_in_both(value: object, fragment: str) -> None:
    for build, prefix in ((lambda: Config(executor=value), "Config.executor"),
                          (lambda: execution_options(executor=value),
                           "execution_options(executor=...)")):
        with pytest.raises(ConfigError) as caught:
            build()
        assert str(caught.value).startswith(prefix)
        assert fragment in str(caught.value)


@pytest.mark.parametrize("field", ["parallel", "cache", "profile", "fallback", "progress",
                                   "redact"])
@pytest.mark.parametrize("value", [1, 0, "true", 1.0])
def test_every_flag_is_a_strict_bool(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^Config.{field} must be a bool \(True or False\)"):
        Config(**{field: value})


@pytest.mark.parametrize("field", ["parallel", "cache", "fallback", "progress", "redact"])
def test_none_is_not_a_bool(field: str) -> None:
    # (profile=None is documented: it takes the value from EMBER_XCS_PROFILE)
    with pytest.raises(ConfigError, match=rf"^Config.{field} must be a bool"):
        Config(**{field: None})


def test_from_mapping_none_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a mapping of field names to values, got "
                                          "NoneType None"):
        Config.from_mapping(None)  # type: ignore[arg-type]


def test_from_mapping_non_str_keys() -> None:
    with pytest.raises(ConfigError, match="field names must be str, got 1; valid fields are: "
                                          "max_workers"):
        Config.from_mapping({1: 2})  # type: ignore[dict-item]


def test_from_mapping_list_of_pairs_is_refused() -> None:
    with pytest.raises(ConfigError, match="got list"):
        Config.from_mapping([("max_workers", 2)])  # type: ignore[arg-type]


def test_unknown_scheduler_and_bad_type() -> None:
    with pytest.raises(ConfigError, match="expected one of 'auto', 'sequential'"):
        execution_options(scheduler="fast")
    with pytest.raises(ConfigError, match="expected one of"):
        execution_options(scheduler=None)  # type: ignore[arg-type]


def test_messages_do_not_echo_huge_values() -> None:
    with pytest.raises(ConfigError) as caught:
        Config(timeout="x" * 100_000)
    assert len(str(caught.value)) < 300


def test_every_config_error_is_an_xcs_error_and_a_value_error() -> None:
    with pytest.raises(XCSError):
        Config(timeout=float("nan"))
    with pytest.raises(ValueError):
        execution_options(timeout=float("nan"))


def test_a_bad_max_workers_message_says_what_none_means_where() -> None:
    from ember.xcs import ConfigError, execution_options

    with pytest.raises(ConfigError, match="None for no cap"):
        Config(max_workers=0)
    with pytest.raises(ConfigError, match=r"None for the default \(64\)"):
        execution_options(max_workers=0)
