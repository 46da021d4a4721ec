"""Measured facts about jitted functions: ``get_jit_stats``, ``reset_stats``.

The counters and call records themselves live in ``api.records``; this module finds
the jitted functions and turns their records into the documented dict.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

# CallRecord and Fallback are re-exported: this module offered them before they moved.
from ember.xcs.api.records import CallRecord, Fallback, FunctionStats
from ember.xcs.api.views import StatsView

__all__ = ["CallRecord", "Fallback", "FunctionStats", "get_jit_stats", "register", "reset_stats"]


# Jitted functions in the order they were made (a dict keeps it; a WeakSet would not, and
# same-named functions are told apart by that order: "name", "name #2"...).
_registry: weakref.WeakKeyDictionary[Any, None] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def register(jitted: Any) -> None:
    """Track a jitted function so ``get_jit_stats()`` / ``reset_stats()`` can see it."""
    with _registry_lock:
        _registry[jitted] = None


def _stats_of(target: Any) -> FunctionStats:
    from ember.xcs.errors import XCSError

    for candidate in (target, getattr(target, "__func__", None),
                      getattr(target, "__xcs_jit__", None)):
        found = getattr(candidate, "_xcs_stats", None)
        if isinstance(found, FunctionStats):
            return found
    raise XCSError(
        f"{target!r} is not a jitted function; decorate it with @jit to collect stats."
    )


def get_jit_stats(target: Any = None, *, func: Any = None) -> dict[str, Any]:
    """Measured facts about a jitted function (or, with no argument, all of them).

    The function is passed positionally, ``get_jit_stats(f)``, or as ``func=f``
    (pyember's keyword).

    About the last traced call (every number measured, ``None`` when nothing was):
    ``nodes``, ``ops``, ``node_kinds``, ``parallel_groups`` and ``max_parallelism``
    (the shape of its graph), ``wall_ms`` (its wall time), ``critical_path_ms`` (the
    longest chain of measured op durations, with ``critical_path`` naming its ops),
    ``op_time_ms`` (the op durations added up), ``overlap`` (``op_time_ms / wall_ms``:
    how many op bodies ran at once on average — not a speedup: ops that compete for
    the GIL overlap without finishing sooner), ``efficiency`` (``critical_path_ms /
    wall_ms``, at most 1: how close the call came to its critical path; durations of
    ops that competed for the GIL include the wait, so it then reads high), ``barriers``
    (each place the glue waited, in order, with file:line), ``barrier_kinds`` (how
    many were static — found in the code before it ran —, dynamic or learned), and
    ``node_timings`` when profiling.

    Totals since the last reset: ``calls``, ``traced_calls``, ``structure_repeats``
    (calls whose graph had the shape of the call before; nothing is cached by it),
    ``reruns``, ``errors``, ``total_time_ms`` (calls run as plain Python count in
    these too), ``tokens``, ``fallbacks`` (the latest 32, with their reasons; calls
    that fell back alike in a row are one entry with a count), ``learned_barriers``,
    ``escapes`` (lazy values the glue stored where they outlived a call, all
    repaired) with ``escape_repair_ms`` and ``unrepaired_escapes``.

    ``result_cache``: hits, misses, writes and unstorable results of the persistent
    result cache (``ember.xcs.cache``), totals over the process for the ops the last
    call used; ``None`` when none of them caches.

    ``speedup`` and ``comparison`` are ``None`` unless ``compare`` measured a plain
    run against jitted runs of the function. With no argument, the result maps each
    jitted function's name (``name #2``, ... when names repeat) to its stats.

    Raises:
        XCSError: ``target`` is not jitted.
        TypeError: the function is given both positionally and as ``func``.

    Example:
        >>> from ember.xcs import jit
        >>> @jit
        ... def double(x):
        ...     return 2 * x
        >>> double(2)
        4
        >>> get_jit_stats(func=double)["calls"], get_jit_stats(double)["calls"]
        (1, 1)
    """
    if func is not None:
        if target is not None:
            raise TypeError(
                "get_jit_stats() takes the function once: get_jit_stats(f) or "
                "get_jit_stats(func=f), not both."
            )
        target = func
    if target is not None:
        return StatsView(_stats_of(target).snapshot(cache=_uses_cache(target)))
    with _registry_lock:
        functions = list(_registry)
    result: dict[str, Any] = {}
    seen: set[int] = set()
    for fn in functions:
        stats = fn._xcs_stats
        if id(stats) in seen:  # with_config() copies share one stats object
            continue
        seen.add(id(stats))
        key, number = stats.name, 1
        while key in result:
            number += 1
            key = f"{stats.name} #{number}"
        result[key] = StatsView(stats.snapshot(cache=_uses_cache(fn)))
    return result


def _uses_cache(target: Any) -> bool:
    """Whether ``target``'s config allows the analysis cache (``Config.cache``)."""
    for candidate in (target, getattr(target, "__func__", None),
                      getattr(target, "__xcs_jit__", None)):
        config = getattr(candidate, "config", None)
        if config is not None:
            return bool(config.cache)
    return True


def reset_stats(target: Any = None) -> None:
    """Clear the stats of ``target`` (or of every jitted function)."""
    if target is not None:
        _stats_of(target).reset()
        return
    with _registry_lock:
        functions = list(_registry)
    for fn in functions:
        fn._xcs_stats.reset()
