"""Checks of setting values, shared by ``Config`` and ``execution_options`` (and ``op()``'s).

Each check takes the setting's name as the user wrote it (``"Config.timeout"``,
``"execution_options(timeout=...)"``) and the value; it raises ``ConfigError`` naming
the setting and the fix, or returns ``None`` (value accepted as is) or the normalised
value (a list of hooks becomes a tuple). ``ember.xcs.config`` re-exports every name.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import math
import os
from collections.abc import Iterable
from typing import Any

from ember.xcs.errors import ConfigError, XCSError
from ember.xcs.ir.render import shorten

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "MAX_TIMEOUT",
    "check_bool",
    "check_executor",
    "check_hooks",
    "check_memory_ceiling",
    "check_op_settings",
    "check_result_cache",
    "check_timeout",
    "check_workers",
    "did_you_mean",
    "is_positive_int_or_none",
    "is_positive_number_or_none",
    "short",
    "switch_from_environment",
]

DEFAULT_MAX_WORKERS = 64
"""The cap on concurrently running ops when ``max_workers`` is ``None``."""

_EXECUTOR_NAMES = ("thread", "sync", "process")

MAX_TIMEOUT = 365 * 24 * 3600.0
"""The longest timeout accepted (one year, in seconds); ``None`` means no limit.

A longer one cannot be meant, and past about 9.2e9 s a deadline overflows the clock
the engine waits on (``OverflowError: timestamp out of range`` in the middle of a run).
"""


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages never echo big values."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
            f"{short(value)}."
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
            f"{short(value)}."
        )
    # None means no cap in Config, and 64 workers in execution_options.
    meaning = f"the default ({DEFAULT_MAX_WORKERS})" if where.startswith("execution_options") \
        else "no cap"
    raise ConfigError(
        f"{where} must be > 0, got {value}; use a positive number of workers, or None for "
        f"{meaning}."
    )


def check_memory_ceiling(where: str, value: Any) -> None:
    """Raise ``ConfigError`` unless ``value`` is ``None``: XCS cannot cap memory.

    pyember documented ``max_memory_mb`` as a soft memory ceiling. The ops of every
    jitted call share one process, thread pool and event loop, so XCS can neither tell
    how much memory one call holds nor stop a call at a limit; accepting the setting
    would promise a guard that does not exist.

    Example:
        >>> check_memory_ceiling("Config.max_memory_mb", None)
        >>> check_memory_ceiling("Config.max_memory_mb", 512)
        Traceback (most recent call last):
        ...
        ember.xcs.errors.ConfigError: Config.max_memory_mb must be None (got int 512): ...
    """
    if value is None:
        return
    raise ConfigError(
        f"{where} must be None (got {type(value).__name__} {short(value)}): XCS cannot "
        "enforce a memory ceiling, because the ops of every call share one process, thread "
        "pool and event loop, so memory cannot be measured per call or stopped at a limit. "
        "To bound memory, cap the ops running at once with max_workers=N (each running op "
        "holds its inputs and result), or limit the whole process with "
        "resource.setrlimit(resource.RLIMIT_AS, ...) or a container memory limit."
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
            f"{short(value)}."
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
    _refuse_raw_dask(where, value)
    if isinstance(value, concurrent.futures.Executor):
        return
    if isinstance(value, str) and value in _EXECUTOR_NAMES:
        return
    if not isinstance(value, type) and callable(getattr(value, "submit", None)):
        return
    hint = ""
    if isinstance(value, str):
        hint = did_you_mean(value, _EXECUTOR_NAMES)
    elif isinstance(value, type):
        hint = f" (pass an instance, e.g. {value.__name__}(...), not the class)"
    raise ConfigError(
        f"{where} must be one of {', '.join(map(repr, _EXECUTOR_NAMES))} or a "
        f"concurrent.futures.Executor, got {type(value).__name__} {short(value)}{hint}."
    )


def _refuse_raw_dask(where: str, value: Any) -> None:
    """``ConfigError`` for Dask's own ``Client`` or ``client.get_executor()``.

    Their ``submit`` treats equal calls as one task (``pure=True`` is Dask's default),
    so identical op calls would run once and share one result; ``DaskExecutor`` submits
    each call as a task of its own. Recognised by class, without importing Dask.
    """
    for kind in type(value).__mro__:
        if not kind.__module__.startswith("distributed.") \
                or kind.__name__ not in ("Client", "ClientExecutor"):
            continue
        given = ("a distributed.Client" if kind.__name__ == "Client" else
                 "client.get_executor() (a distributed ClientExecutor)")
        raise ConfigError(
            f"{where} got {given}, which submits through Dask directly: Dask treats equal "
            "calls as one task unless told otherwise, so identical op calls (best-of-n "
            "sampling, a side effect repeated on purpose) would run once and share one "
            "result, and an op's errors would bypass XCS's handling. Pass "
            "DaskExecutor(client) instead (from ember.xcs.distributed; the client stays "
            "open), or dask_executor(address) to connect by address."
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
            f"{short(value)}{hint}."
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
            raise ConfigError(f"{where} must be a non-empty file path, got {short(value)}.")
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
            f"{type(value).__name__} {short(value)}."
        )


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` naming the valid name closest to a misspelt ``name``, or
    ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_names(unknown: Iterable[str], valid: Iterable[str]) -> str:
    """The unknown ``names``, sorted, each with the closest valid name when one is close:
    ``'max_worker' (did you mean 'max_workers'?), 'x'``."""
    valid = list(valid)
    return ", ".join(f"{name!r}{did_you_mean(name, valid)}" for name in sorted(unknown))


_SWITCHED_ON = ("1", "true", "yes", "on")
_SWITCHED_OFF = ("", "0", "false", "no", "off")


def switch_from_environment(variable: str, purpose: str) -> bool:
    """The on/off switch the environment variable ``variable`` holds (unset: off).

    Args:
        variable: the variable's name.
        purpose: what switching it on does, for the message.

    Raises:
        ConfigError: the value is no on or off word (any case, spaces around allowed):
            a typo must not switch the setting off without a word.

    Example:
        >>> switch_from_environment("EMBER_XCS_UNSET_EXAMPLE", "show an example")
        False
    """
    raw = os.environ.get(variable, "")
    value = raw.strip().lower()
    if value in _SWITCHED_ON:
        return True
    if value in _SWITCHED_OFF:
        return False
    raise ConfigError(
        f"{variable}={raw!r} is not a switch: set it to one of {', '.join(_SWITCHED_ON)} "
        f"to {purpose}, to one of {', '.join(_SWITCHED_OFF[1:])} (or unset it) not to."
    )


def check_op_settings(name: object, effect: object, deterministic: object,
                      limit_key: object) -> None:
    """Raise ``XCSError`` naming the first ``op()`` setting of the wrong type."""
    if name is not None and not isinstance(name, str):
        raise XCSError(f"op(name=...) must be a str or None, got {type(name).__name__} "
                       f"{shorten(repr(name), 80)}.")
    for field, value in (("effect", effect), ("deterministic", deterministic)):
        if not isinstance(value, bool):
            raise XCSError(f"op({field}=...) must be True or False, got "
                           f"{type(value).__name__} {shorten(repr(value), 80)}.")
    try:
        hash(limit_key)
    except TypeError:
        raise XCSError(
            f"op(limit_key=...) must be hashable (a str or a tuple, say), got "
            f"{type(limit_key).__name__} {shorten(repr(limit_key), 80)}."
        ) from None
