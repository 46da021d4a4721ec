"""``Config``: the frozen, eagerly validated settings of a jitted function.

Every field is checked when the object is built, so a typo or a bad value fails at
decoration time with a ``ConfigError`` naming the field and the fix, not later inside a
run. The checks live here, in one place: ``execution_options`` (``ember.xcs.graphs``)
uses the same functions for the settings it shares with ``Config``.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from ember.xcs.errors import ConfigError

__all__ = [
    "MAX_TIMEOUT",
    "Config",
    "Presets",
    "check_bool",
    "check_executor",
    "check_hooks",
    "check_result_cache",
    "check_timeout",
    "check_workers",
    "is_positive_int_or_none",
    "is_positive_number_or_none",
    "profile_from_environment",
]

_EXECUTOR_NAMES = ("thread", "sync", "process")

MAX_TIMEOUT = 365 * 24 * 3600.0
"""The longest timeout accepted (one year, in seconds); ``None`` means no limit.

A longer one cannot be meant, and past about 9.2e9 s a deadline overflows the clock
the engine waits on (``OverflowError: timestamp out of range`` in the middle of a run).
"""


def profile_from_environment() -> bool:
    """Whether ``EMBER_XCS_PROFILE`` asks for profiling of every jitted function."""
    return os.environ.get("EMBER_XCS_PROFILE", "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, init=False)
class Config:
    """Settings for ``jit`` and the transforms.

    Args:
        max_workers: hard cap on op bodies running at once for one call (``None``: 64).
        parallel: ``False`` runs every op eagerly, in program order (plain Python).
        cache: the *analysis* cache: reuse the analysis of a graph (parallel groups,
            critical path) for later calls with the same structure. It never stores
            results; for that see ``result_cache``.
        profile: keep per-node start/end times (default from ``EMBER_XCS_PROFILE``).
        timeout: seconds a whole call may take before ``XCSTimeoutError``: a finite
            number above 0 and at most ``MAX_TIMEOUT`` (one year), or ``None``.
        executor: ``"thread"`` (default elastic pool), ``"sync"`` (run in the caller,
            for debugging), ``"process"``, or any ``concurrent.futures.Executor``.
        fallback: when tracing cannot follow the function, run it as plain Python
            (``True``) or raise ``TracingError`` (``False``).
        progress: show a progress bar for ``vmap``/``pmap`` batches.
        redact: keep no argument or result values in stats, ``explain`` output or
            caches (``Presets.SECURE``).
        hooks: extra event hooks for this function: objects with one or more of the
            methods listed in ``ember.xcs.hooks`` (instances, not classes).
        result_cache: the persistent *result* cache for the ops this function calls:
            a file path (an SQLite database, created on first use) or a store object
            (``ember.xcs.cache.SQLiteStore``, ``MemoryStore``). Ops marked
            ``@op(cache=True)`` or ``cache=None`` (the setting for model calls) are
            answered from it when the same op was called with the same arguments
            before (see ``ember.xcs.cache``). ``None``: off.
        allow_persistent_cache: with ``redact=True``, a ``result_cache`` that writes
            to disk is refused unless this is ``True``.

    Raises:
        ConfigError: on an unknown field, a value of the wrong type, a number out of
            range, a hook that is not a hook, or a persistent cache under ``redact``.

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
    result_cache: Any
    allow_persistent_cache: bool

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
        result_cache: Any = None,
        allow_persistent_cache: bool = False,
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
            "hooks": hooks,
            "result_cache": result_cache,
            "allow_persistent_cache": allow_persistent_cache,
        }
        for name, value in values.items():
            checked = _VALIDATORS[name](f"Config.{name}", value)
            object.__setattr__(self, name, value if checked is None else checked)
        _check_cache_under_redact(self)
        _add_cache_scope(self)

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
        """Build a ``Config`` from a dict of field names to values, with the same checks.

        Raises:
            ConfigError: ``options`` is not a mapping, has a key that is not a str, or
                any check of the constructor fails.

        Example:
            >>> Config.from_mapping({"max_workers": 2}).max_workers
            2
        """
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"Config.from_mapping needs a mapping of field names to values, got "
                f"{type(options).__name__} {_short(options)}; pass e.g. {{'max_workers': 8}}."
            )
        if bad := [key for key in options if not isinstance(key, str)]:
            raise ConfigError(
                f"Config.from_mapping: field names must be str, got {', '.join(map(_short, bad))}; "
                f"valid fields are: {', '.join(f.name for f in fields(cls))}."
            )
        return cls(**dict(options))

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages never echo big values."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unknown_fields_message(unknown: Mapping[str, Any]) -> str:
    valid = [f.name for f in fields(Config)]
    parts = []
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"{key!r}{hint}")
    return f"Config got unknown field(s) {', '.join(parts)}; valid fields are: {', '.join(valid)}."


# -- the checks (shared with execution_options) ------------------------------------
#
# Each takes the setting's name as the user wrote it ("Config.timeout",
# "execution_options(timeout=...)") and the value; it raises ConfigError or returns
# None (value accepted as is) or the normalised value (a list of hooks -> tuple).


def is_positive_int_or_none(value: object) -> bool:
    """Whether ``value`` is ``None`` or an int above zero (``bool`` does not count)."""
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and value > 0
    )


def is_positive_number_or_none(value: object) -> bool:
    """Whether ``value`` is ``None`` or a finite int/float in ``(0, MAX_TIMEOUT]``.

    ``bool``, ``nan`` and infinities do not count.
    """
    return value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 < value <= MAX_TIMEOUT  # False for nan and inf
    )


def check_bool(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ConfigError(
            f"{where} must be a bool (True or False), got {type(value).__name__} "
            f"{_short(value)}."
        )


def check_workers(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` is a positive int or ``None``.

    Example:
        >>> check_workers("Config.max_workers", 0)
        Traceback (most recent call last):
        ...
        ember.xcs.errors.ConfigError: Config.max_workers must be > 0, got 0; ...
    """
    if is_positive_int_or_none(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{where} must be a positive int or None, got {type(value).__name__} "
            f"{_short(value)}."
        )
    raise ConfigError(
        f"{where} must be > 0, got {value}; use a positive number of workers, or None for "
        f"the default ({Config.DEFAULT_MAX_WORKERS})."
    )


def check_timeout(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` is a usable timeout in seconds, or ``None``.

    Usable: an int or float, finite, above 0 and at most ``MAX_TIMEOUT`` (one year).

    Example:
        >>> check_timeout("Config.timeout", float("inf"))
        Traceback (most recent call last):
        ...
        ember.xcs.errors.ConfigError: Config.timeout must be a finite number of seconds, ...
    """
    if is_positive_number_or_none(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{where} must be a number of seconds or None, got {type(value).__name__} "
            f"{_short(value)}."
        )
    if math.isnan(value):
        raise ConfigError(
            f"{where} must be a number of seconds, got nan (not a number); use a positive "
            "number, or None for no time limit."
        )
    if math.isinf(value) and value > 0:
        raise ConfigError(
            f"{where} must be a finite number of seconds, got inf; use None for no time limit."
        )
    if value > MAX_TIMEOUT:
        raise ConfigError(
            f"{where} must be at most {MAX_TIMEOUT:.0f} s (one year), got {value:g}; use "
            "None for no time limit."
        )
    raise ConfigError(f"{where} must be > 0 seconds, got {value:g}; use None for no time limit.")


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
    if not isinstance(value, type) and callable(getattr(value, "submit", None)):
        return
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, _EXECUTOR_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    elif isinstance(value, type):
        hint = f" (pass an instance, e.g. {value.__name__}(...), not the class)"
    raise ConfigError(
        f"{where} must be one of {', '.join(map(repr, _EXECUTOR_NAMES))} or a "
        f"concurrent.futures.Executor, got {type(value).__name__} {_short(value)}{hint}."
    )


def check_hooks(where: str, value: Any) -> tuple[Any, ...]:
    """The hooks as a tuple; ``ConfigError`` unless each one implements the hook protocol.

    A hook is an object (not a class) with at least one of the methods listed in
    ``ember.xcs.hooks.HOOK_METHODS``, each of them callable.
    """
    from ember.xcs.hooks import hook_problem

    if not isinstance(value, list | tuple):
        hint = " (wrap a single hook in a list: hooks=[hook])" if hook_problem(value) is None \
            else ""
        raise ConfigError(
            f"{where} must be a list or tuple of hooks, got {type(value).__name__} "
            f"{_short(value)}{hint}."
        )
    for position, hook in enumerate(value):
        problem = hook_problem(hook)
        if problem is not None:
            raise ConfigError(f"{where}: item {position} is not a hook: {problem}.")
    return tuple(value)


def check_result_cache(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` is ``None``, a file path or a result store.

    A path is a non-empty ``str`` or ``os.PathLike`` that is not an existing directory;
    a store has callable ``get`` and ``put`` methods (``ember.xcs.cache.ResultStore``).
    """
    if value is None:
        return
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if not isinstance(path, str) or not path.strip():
            raise ConfigError(f"{where} must be a non-empty file path, got {_short(value)}.")
        if os.path.isdir(path):
            raise ConfigError(
                f"{where} is a directory ({path}); give the path of a database file inside "
                f"it, e.g. {os.path.join(path, 'results.sqlite')!r}."
            )
        return
    if isinstance(value, bool):
        raise ConfigError(
            f"{where} takes a file path or a store, not {value!r}; for the default location "
            "use ember.xcs.cache.default_path(), or None to turn the result cache off."
        )
    missing = [name for name in ("get", "put") if not callable(getattr(value, name, None))]
    if missing or isinstance(value, type):
        raise ConfigError(
            f"{where} must be None, a file path or a result store (an object with get and "
            f"put methods, e.g. ember.xcs.cache.SQLiteStore(path)), got "
            f"{type(value).__name__} {_short(value)}."
        )


def _check_cache_under_redact(config: Config) -> None:
    store = config.result_cache
    if not config.redact or store is None or config.allow_persistent_cache:
        return
    if not getattr(store, "persistent", True):  # a path, or a store that keeps to memory
        return
    raise ConfigError(
        "Config.result_cache: redact=True (Presets.SECURE) promises that no argument or "
        "result value is kept, but a persistent result cache writes op results to disk. "
        "Pass allow_persistent_cache=True to accept that, use "
        "ember.xcs.cache.MemoryStore(), or leave result_cache=None."
    )


def _add_cache_scope(config: Config) -> None:
    """Put the hook that makes the result-cache settings visible to op bodies.

    Ops read the active result cache from a context variable that this hook sets when
    a call starts (op bodies run in a copy of the caller's context).
    """
    from ember.xcs.cache.scope import CacheScope

    user_hooks = tuple(h for h in config.hooks if not isinstance(h, CacheScope))
    if config.result_cache is not None or config.redact:
        scope = CacheScope(config.result_cache, config.redact, config.allow_persistent_cache)
        user_hooks = (*user_hooks, scope)
    object.__setattr__(config, "hooks", user_hooks)


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "max_workers": check_workers,
    "parallel": check_bool,
    "cache": check_bool,
    "profile": check_bool,
    "timeout": check_timeout,
    "executor": check_executor,
    "fallback": check_bool,
    "progress": check_bool,
    "redact": check_bool,
    "hooks": check_hooks,
    "result_cache": check_result_cache,
    "allow_persistent_cache": check_bool,
}


class Presets:
    """Ready-made configurations for common situations.

    - ``SECURE``: no argument or result values kept in stats, explain output or caches
      (a persistent ``result_cache`` is refused unless ``allow_persistent_cache=True``).
    - ``DEBUG``: ops run one at a time in the calling thread, with profiling.
    - ``LIGHTWEIGHT``: at most 4 concurrent ops, no analysis cache, no profiling.
    - ``SERIAL``: no parallelism at all; plain Python with stats.
    """

    SECURE: ClassVar[Config] = Config(redact=True, profile=False)
    DEBUG: ClassVar[Config] = Config(executor="sync", profile=True, max_workers=1)
    LIGHTWEIGHT: ClassVar[Config] = Config(max_workers=4, cache=False, profile=False)
    SERIAL: ClassVar[Config] = Config(parallel=False, max_workers=1)
