"""``Config``: the frozen, eagerly validated settings of a jitted function.

Every field is checked when the object is built, so a typo or a bad value fails at
decoration time with a ``ConfigError`` naming the field and the fix, not later inside a
run. The checks live in ``ember.xcs.checks`` (re-exported here), in one place:
``execution_options`` (``ember.xcs.graphs``) uses the same functions for the settings it
shares with ``Config``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, ClassVar

from ember.xcs.checks import (
    DEFAULT_MAX_WORKERS,
    MAX_TIMEOUT,
    check_bool,
    check_executor,
    check_hooks,
    check_memory_ceiling,
    check_result_cache,
    check_timeout,
    check_workers,
    did_you_mean,
    is_positive_int_or_none,
    is_positive_number_or_none,
    switch_from_environment,
    unknown_names,
)
from ember.xcs.checks import short as _short
from ember.xcs.errors import ConfigError

__all__ = [
    "MAX_TIMEOUT",
    "Config",
    "Presets",
    "check_bool",
    "check_executor",
    "check_hooks",
    "check_memory_ceiling",
    "check_result_cache",
    "check_timeout",
    "check_workers",
    "is_positive_int_or_none",
    "is_positive_number_or_none",
    "misplaced_settings",
    "refuse_misplaced",
    "require_config",
    "without_catchalls",
]


@dataclass(frozen=True, init=False)
class Config:
    """Settings for ``jit`` and the transforms.

    Args:
        max_workers: hard cap on op bodies running at once for one call (``None``: no
            cap; per-op ``max_concurrency`` limits still hold).
        max_memory_mb: pyember's soft memory ceiling. XCS cannot enforce one (see
            ``check_memory_ceiling``), so only ``None`` is accepted; the field exists so
            that pyember's ``Config(max_memory_mb=None)`` and ``to_dict`` keys work.
        parallel: ``False`` runs every op eagerly, in program order (plain Python).
        cache: the *analysis* cache: reuse the analysis of a graph (parallel groups,
            critical path) for later calls with the same structure. It never stores
            results; for that see ``result_cache``.
        profile: keep per-node start/end times (default from ``EMBER_XCS_PROFILE``: on
            for 1/true/yes/on, off for 0/false/no/off or unset, else ``ConfigError``).
        timeout: seconds a whole call may take before ``XCSTimeoutError``: a finite
            number above 0 and at most ``MAX_TIMEOUT`` (one year), or ``None``.
        executor: ``"thread"`` (default elastic pool), ``"sync"`` (run in the caller,
            for debugging), ``"process"``, or any ``concurrent.futures.Executor``
            (for Dask: a ``DaskExecutor``; Dask's own ``Client`` is refused, as its
            ``submit`` would merge identical op calls into one).
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
            range, a hook that is not a hook, a persistent cache under ``redact``, or a
            ``max_memory_mb`` other than ``None``.

    Example:
        >>> Config(max_workers=4).max_workers
        4
        >>> Config(max_workers=4).replace(profile=True).profile
        True
        >>> Config().apply_overrides({"parallel": False}).to_dict()["parallel"]
        False
    """

    max_workers: int | None
    max_memory_mb: None
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

    DEFAULT_MAX_WORKERS: ClassVar[int] = DEFAULT_MAX_WORKERS

    def __init__(
        self,
        *,
        max_workers: int | None = None,
        max_memory_mb: int | None = None,
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
            "max_memory_mb": max_memory_mb,
            "parallel": parallel,
            "cache": cache,
            "profile": switch_from_environment("EMBER_XCS_PROFILE", "profile every jitted "
                                               "function") if profile is None else profile,
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
        """``max_workers``, or ``DEFAULT_MAX_WORKERS`` (64) when it is ``None``.

        A jitted call sets no cap for ``max_workers=None``; 64 is the default cap of
        ``execution_options`` for explicit graphs.
        """
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
        return cls(**_field_mapping("Config.from_mapping", options))

    def apply_overrides(self, overrides: Mapping[str, Any] | None) -> Config:
        """A copy with ``overrides`` applied, validated like the constructor (pyember's name).

        Args:
            overrides: field names mapped to new values; ``None`` or an empty mapping
                returns this config unchanged.

        Returns:
            The updated copy (this config is frozen and stays as it was).

        Raises:
            ConfigError: ``overrides`` is not a mapping, a key is not a field (with a
                "did you mean"), or a value fails its check.

        Example:
            >>> Config(max_workers=2).apply_overrides({"max_workers": 8}).max_workers
            8
        """
        if overrides is None:
            return self
        changes = _field_mapping("Config.apply_overrides", overrides)
        return self.replace(**changes) if changes else self

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain (mutable) dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_dict(self) -> Mapping[str, Any]:
        """The fields as a read-only mapping (pyember's name; ``as_dict`` gives a ``dict``).

        Every key is a field, so ``Config(**config.to_dict())`` rebuilds an equal config
        and ``apply_overrides`` accepts any of them.

        Example:
            >>> settings = Config(max_workers=2).to_dict()
            >>> settings["max_workers"], Config(**settings) == Config(max_workers=2)
            (2, True)
        """
        return MappingProxyType(self.as_dict())


def _field_mapping(where: str, options: Any) -> dict[str, Any]:
    """``options`` as a dict of field names to values; ``ConfigError`` unless it is one."""
    if not isinstance(options, Mapping):
        raise ConfigError(
            f"{where} needs a mapping of field names to values, got "
            f"{type(options).__name__} {_short(options)}; pass e.g. {{'max_workers': 8}}."
        )
    if bad := [key for key in options if not isinstance(key, str)]:
        raise ConfigError(
            f"{where}: field names must be str, got {', '.join(map(_short, bad))}; "
            f"valid fields are: {', '.join(f.name for f in fields(Config))}."
        )
    return dict(options)


def require_config(where: str, config: Any) -> None:
    """``ConfigError`` unless ``config`` is ``None`` or a ``Config`` (``where`` names the call)."""
    if config is not None and not isinstance(config, Config):
        fix = "Config.from_mapping(...)" if isinstance(config, Mapping) else "Config(...)"
        raise ConfigError(f"{where} needs a Config, got {type(config).__name__} "
                          f"{_short(config)}; build one with {fix}.")


def _unknown_fields_message(unknown: Mapping[str, Any]) -> str:
    valid = [f.name for f in fields(Config)]
    return (f"Config got unknown field(s) {unknown_names(unknown, valid)}; valid fields are: "
            f"{', '.join(valid)}.")


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
    "max_memory_mb": check_memory_ceiling,
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


# Names of other libraries' settings (pyember's pmap, thread pools) and what they are here.
_SETTING_ALIASES = {"num_workers": "max_workers", "max_threads": "max_workers",
                    "workers": "max_workers", "n_jobs": "max_workers"}


def misplaced_settings(where: str, parameters: tuple[str, ...], positional: tuple[Any, ...],
                       settings: dict[str, Any], *, takes_config: bool = True) -> ConfigError:
    """The error for arguments ``where`` (``"jit()"``) does not take: a ``Config`` or a
    setting passed directly instead of ``config=Config(...)``, or a misspelt parameter.

    ``parameters``: the keyword parameters ``where`` does take; ``takes_config``: whether
    one of them is ``config`` (``grad()`` has no settings at all).
    """
    fields = [f.name for f in dataclasses.fields(Config)]
    settings_go = (f"settings go in config=Config(...), whose fields are {', '.join(fields)}"
                   if takes_config else "it takes no settings (no config=); give them to "
                   "the jit, vmap or pmap around it")
    takes = f"{where} takes the keyword argument(s) {', '.join(parameters)}; {settings_go}."
    if positional:
        first = positional[0]
        if isinstance(first, Config):
            if not takes_config:
                return ConfigError(f"{where} got a Config, but {settings_go}.")
            return ConfigError(f"{where} takes its Config as a keyword argument: pass "
                               f"config=Config(...), not the Config positionally.")
        return ConfigError(f"{where} got {len(positional)} extra positional argument(s) "
                           f"({', '.join(_short(p) for p in positional)}). {takes}")
    parts = []
    for name, value in settings.items():
        field = _SETTING_ALIASES.get(name, name)
        if field in fields and takes_config:
            parts.append(f"{name}={_short(value)} is a setting: pass "
                         f"config=Config({field}={_short(value)})")
            continue
        if field in fields:
            parts.append(f"{name}={_short(value)} is a setting")
            continue
        parts.append(f"{name!r} is not one of its parameters"
                     f"{did_you_mean(name, [*parameters, *fields])}")
    return ConfigError(f"{where}: {'; '.join(parts)}. {takes}")


def refuse_misplaced(where: str, parameters: tuple[str, ...], slots: tuple[Any, ...],
                     positional: tuple[Any, ...], settings: dict[str, Any], *,
                     takes_config: bool = True) -> None:
    """Raise ``misplaced_settings``'s error for arguments beyond a transform's own, or
    a ``Config`` in one of its positional ``slots`` (never a valid axis, size or flag)."""
    given = tuple(value for value in slots if isinstance(value, Config)) + positional
    if given or settings:
        raise misplaced_settings(where, parameters, given, settings, takes_config=takes_config)


def without_catchalls(fn: Callable[..., Any]) -> inspect.Signature:
    """``fn``'s signature without its ``*args``/``**kwargs``: those exist only to refuse
    misplaced settings clearly (``misplaced_settings``), so ``help()`` and IDEs omit them."""
    signature = inspect.signature(fn)
    kept = [p for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return signature.replace(parameters=kept)


def settings_of(transform: Callable[..., Any]) -> tuple[str, ...]:
    """The names of ``transform``'s parameters after the function it transforms, as
    ``help()`` shows them: what ``misplaced_settings`` lists as its own."""
    return tuple(inspect.signature(transform).parameters)[1:]
