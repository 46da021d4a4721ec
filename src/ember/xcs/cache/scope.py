"""Which result cache is active: ``Config(result_cache=...)`` and ``use(...)``.

The active settings live in a context variable. Op bodies run in a copy of the
caller's ``contextvars`` context, so a setting made in the calling thread when a call
starts reaches every op of that call, on whatever thread or event loop it runs.
``Config(result_cache=...)`` (and ``redact=True``) puts a ``CacheScope`` hook into the
config's hooks; the hook sets the variable at ``on_graph_start`` and restores it at
``on_graph_end``. Other processes cannot see the variable: ops shipped to them are
looked up in the caller before shipping (``ember.xcs.cache.shipping``).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ember.xcs.cache.store import ResultStore, SQLiteStore, default_path
from ember.xcs.checks import check_result_cache
from ember.xcs.errors import ConfigError

__all__ = ["CacheScope", "Settings", "active", "open_store", "store_for", "use"]


@dataclass(frozen=True)
class Settings:
    """The result-cache settings in force for the ops of a call.

    Attributes:
        store: where ops with ``cache=True`` or ``cache=None`` keep results (``None``:
            ``cache=None`` ops are not cached; ``cache=True`` ones use the default).
        redact: ``Presets.SECURE`` is in force: persistent stores are refused...
        allow_persistent: ...unless this is ``True``.
    """

    store: Any = None
    redact: bool = False
    allow_persistent: bool = False


_NOTHING = Settings()
_active: contextvars.ContextVar[tuple[Settings, ...]] = contextvars.ContextVar(
    "ember_xcs_result_cache", default=()
)


def active() -> Settings:
    """The innermost settings in force here (defaults when none are)."""
    stack = _active.get()
    return stack[-1] if stack else _NOTHING


@dataclass(frozen=True)
class CacheScope:
    """The hook that makes a config's result-cache settings active during its calls.

    ``Config`` adds it by itself when ``result_cache`` is set or ``redact`` is on; it
    compares equal for equal settings, so ``Config`` equality is unaffected.
    """

    result_cache: Any
    redact: bool
    allow_persistent: bool

    def on_graph_start(self, name: str) -> None:
        # No store of its own: the one a `with use(...)` around the call made active.
        store = self.result_cache if self.result_cache is not None else active().store
        settings = Settings(store, self.redact, self.allow_persistent)
        _active.set((*_active.get(), settings))

    def on_graph_end(self, name: str, seconds: float, error: BaseException | None) -> None:
        stack = _active.get()
        if stack:
            _active.set(stack[:-1])


@contextmanager
def use(store: Any) -> Iterator[Any]:
    """Make ``store`` (a path or a store) the result cache for ops called in the block.

    Ops with ``cache=True`` or ``cache=None`` (model calls) called in the block (in
    this thread or asyncio task, and in the ops they start) keep and reuse results in
    ``store``; it works around plain code as well as around jitted calls.

    Args:
        store: a file path (SQLite) or a store object.

    Yields:
        The opened store.

    Example:
        >>> from ember.xcs import op
        >>> from ember.xcs.cache import MemoryStore
        >>> calls = []
        >>> @op(cache=True)
        ... def square(x):
        ...     calls.append(x)
        ...     return x * x
        >>> with use(MemoryStore()):
        ...     square(3), square(3), len(calls)
        (9, 9, 1)
    """
    check_result_cache("ember.xcs.cache.use(...)", store)
    if store is None:
        raise ConfigError("ember.xcs.cache.use(...) needs a path or a store, got None.")
    opened = open_store(store)
    outer = active()
    token = _active.set((*_active.get(), Settings(opened, outer.redact, outer.allow_persistent)))
    try:
        yield opened
    finally:
        _active.reset(token)


_opened: dict[str, SQLiteStore] = {}
_opened_lock = threading.Lock()


def open_store(target: Any) -> Any:
    """The store for ``target``: a store object as is; a path as its (shared) ``SQLiteStore``.

    Stores opened from paths are kept per absolute path, so every op and call using one
    file shares one object (and its per-thread connections).
    """
    if not isinstance(target, str | os.PathLike):
        return target
    path = os.path.abspath(os.path.expanduser(os.fspath(target)))
    with _opened_lock:
        store = _opened.get(path)
        if store is None:
            store = _opened[path] = SQLiteStore(path)
        return store


def store_for(mode: Any, op_name: str) -> ResultStore | None:
    """The store an op with ``cache=mode`` uses for a call made now (``None``: none).

    ``mode`` is ``True`` (the active store, else the default file), ``None`` (the active
    store, else no caching), or a path or store (always that one).

    Raises:
        ConfigError: ``Presets.SECURE`` (``redact``) is in force and the store would
            write to disk, unless the config allowed it.
    """
    settings = active()
    if mode is None:
        target = settings.store
    elif mode is True:
        target = settings.store if settings.store is not None else default_path()
    else:
        target = mode
    if target is None:
        return None
    store: ResultStore = open_store(target)
    if settings.redact and not settings.allow_persistent and getattr(store, "persistent", True):
        raise ConfigError(
            f"op {op_name} would keep its result in the persistent cache {store!r}, but this "
            "call runs with redact=True (Presets.SECURE), which keeps no values. Pass "
            "Config(allow_persistent_cache=True) to accept that, use "
            "Config(result_cache=ember.xcs.cache.MemoryStore()), or cache=False on the op."
        )
    return store
