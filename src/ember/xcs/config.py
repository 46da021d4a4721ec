"""``Config``: the frozen, eagerly validated settings of a jitted function.

Every field is checked when the object is built, so a typo or a bad value fails at
decoration time with a ``ConfigError`` naming the field, not later inside a run.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from ember.xcs.errors import ConfigError

__all__ = [
    "Config",
    "Presets",
    "check_executor",
    "is_positive_int_or_none",
    "is_positive_number_or_none",
    "profile_from_environment",
]

_EXECUTOR_NAMES = ("thread", "sync", "process")


def profile_from_environment() -> bool:
    """Whether ``EMBER_XCS_PROFILE`` asks for profiling of every jitted function."""
    return os.environ.get("EMBER_XCS_PROFILE", "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, init=False)
class Config:
    """Settings for ``jit`` and the transforms.

    Args:
        max_workers: hard cap on op bodies running at once for one call (``None``: 64).
        parallel: ``False`` runs every op eagerly, in program order (plain Python).
        cache: cache graph analysis per graph structure.
        profile: keep per-node start/end times (default from ``EMBER_XCS_PROFILE``).
        timeout: seconds a whole call may take before ``XCSTimeoutError``.
        executor: ``"thread"`` (default elastic pool), ``"sync"`` (run in the caller,
            for debugging), ``"process"``, or any ``concurrent.futures.Executor``.
        fallback: when tracing cannot follow the function, run it as plain Python
            (``True``) or raise ``TracingError`` (``False``).
        progress: show a progress bar for ``vmap``/``pmap`` batches.
        redact: keep no argument or result values in stats, ``explain`` output or
            caches (``Presets.SECURE``).
        hooks: extra event hooks for this function (see ``ember.xcs.hooks``).

    Raises:
        ConfigError: on an unknown field, a value of the wrong type, or a
            non-positive number.

    Example:
        >>> Config(max_workers=4).max_workers
        4
        >>> Config(max_workers=4).replace(profile=True).profile
        True
    """

    max_workers: int | None
    parallel: bool
    cache: bool
    profile: bool
    timeout: float | None
    executor: str | concurrent.futures.Executor
    fallback: bool
    progress: bool
    redact: bool
    hooks: tuple[Any, ...]

    DEFAULT_MAX_WORKERS: ClassVar[int] = 64

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        parallel: bool = True,
        cache: bool = True,
        profile: bool | None = None,
        timeout: float | None = None,
        executor: str | concurrent.futures.Executor = "thread",
        fallback: bool = True,
        progress: bool = False,
        redact: bool = False,
        hooks: tuple[Any, ...] | list[Any] = (),
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ConfigError(_unknown_fields_message(unknown))
        values = {
            "max_workers": max_workers,
            "parallel": parallel,
            "cache": cache,
            "profile": profile_from_environment() if profile is None else profile,
            "timeout": timeout,
            "executor": executor,
            "fallback": fallback,
            "progress": progress,
            "redact": redact,
            "hooks": tuple(hooks) if isinstance(hooks, list | tuple) else hooks,
        }
        for name, value in values.items():
            _VALIDATORS[name](name, value)
            object.__setattr__(self, name, value)

    @property
    def workers(self) -> int:
        """The effective cap on concurrently running ops."""
        return self.max_workers if self.max_workers is not None else self.DEFAULT_MAX_WORKERS

    def replace(self, **changes: Any) -> Config:
        """Return a copy with ``changes`` applied (validated like the constructor)."""
        if unknown := set(changes) - {f.name for f in fields(self)}:
            raise ConfigError(_unknown_fields_message(dict.fromkeys(unknown)))
        return replace(self, **changes)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> Config:
        """Build a ``Config`` from a dict, with the same validation."""
        return cls(**dict(options))

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _unknown_fields_message(unknown: Mapping[str, Any]) -> str:
    valid = [f.name for f in fields(Config)]
    parts = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"{key!r}{hint}")
    return f"Config got unknown field(s) {', '.join(parts)}; valid fields are: {', '.join(valid)}."


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"Config.{name} must be a bool, got {type(value).__name__} {value!r}."
        )


def is_positive_int_or_none(value: object) -> bool:
    """Whether ``value`` is ``None`` or an int above zero (``bool`` does not count)."""
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and value > 0
    )


def is_positive_number_or_none(value: object) -> bool:
    """Whether ``value`` is ``None`` or an int/float above zero (``bool`` does not count)."""
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    )


def _check_positive_int_or_none(name: str, value: Any) -> None:
    if is_positive_int_or_none(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"Config.{name} must be a positive int or None, got {type(value).__name__} "
            f"{value!r}."
        )
    if value <= 0:
        raise ConfigError(f"Config.{name} must be > 0, got {value}.")


def _check_timeout(name: str, value: Any) -> None:
    if is_positive_number_or_none(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"Config.{name} must be a number of seconds or None, got {type(value).__name__} "
            f"{value!r}."
        )
    if value <= 0:
        raise ConfigError(f"Config.{name} must be > 0 seconds, got {value}.")


def check_executor(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` can serve as an executor setting.

    Args:
        where: the setting's name for the message, e.g. ``"Config.executor"``.
        value: ``"thread"``, ``"sync"``, ``"process"`` or an executor object.
    """
    if isinstance(value, concurrent.futures.Executor):
        return
    if isinstance(value, str) and value in _EXECUTOR_NAMES:
        return
    if hasattr(value, "submit") and callable(value.submit):
        return
    raise ConfigError(
        f"{where} must be one of {', '.join(map(repr, _EXECUTOR_NAMES))} or a "
        f"concurrent.futures.Executor, got {type(value).__name__} {value!r}."
    )


def _check_executor(name: str, value: Any) -> None:
    check_executor(f"Config.{name}", value)


def _check_hooks(name: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise ConfigError(f"Config.{name} must be a list or tuple of hooks, got {value!r}.")


_VALIDATORS: dict[str, Callable[[str, Any], None]] = {
    "max_workers": _check_positive_int_or_none,
    "parallel": _check_bool,
    "cache": _check_bool,
    "profile": _check_bool,
    "timeout": _check_timeout,
    "executor": _check_executor,
    "fallback": _check_bool,
    "progress": _check_bool,
    "redact": _check_bool,
    "hooks": _check_hooks,
}


class Presets:
    """Ready-made configurations for common situations.

    - ``SECURE``: no argument or result values kept in stats, explain output or caches.
    - ``DEBUG``: ops run one at a time in the calling thread, with profiling.
    - ``LIGHTWEIGHT``: at most 4 concurrent ops, no analysis cache, no profiling.
    - ``SERIAL``: no parallelism at all; plain Python with stats.
    """

    SECURE: ClassVar[Config] = Config(redact=True, profile=False)
    DEBUG: ClassVar[Config] = Config(executor="sync", profile=True, max_workers=1)
    LIGHTWEIGHT: ClassVar[Config] = Config(max_workers=4, cache=False, profile=False)
    SERIAL: ClassVar[Config] = Config(parallel=False, max_workers=1)
