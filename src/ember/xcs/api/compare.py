"""``compare``: measure plain Python against ``@jit`` on the same call, the same way.

The only speedup XCS reports is one measured here: the original function and its
jitted form run alternately on the same arguments, after the same warm-up, and the
medians are compared. The result is also kept in the function's stats
(``get_jit_stats(f)["speedup"]``).
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

from ember.xcs.api.awaiting import finish
from ember.xcs.api.records import Comparison
from ember.xcs.api.stats import _stats_of
from ember.xcs.errors import XCSError

__all__ = ["compare"]


def compare(fn: Callable[..., Any], /, *args: Any, repeat: int = 5, warmup: int = 1,
            **kwargs: Any) -> dict[str, Any]:
    """Time ``fn`` run plainly and jitted on ``args``; returns the measured figures.

    Both versions really run (their ops are called ``warmup + repeat`` times each).

    Args:
        fn: a jitted function (``jit(f)``), or a plain function to jit for the occasion.
        *args: the call's positional arguments.
        repeat: timed calls of each version (alternating), at least 1.
        warmup: untimed calls of each version first, at least 0.
        **kwargs: the call's keyword arguments.

    Returns:
        ``{"plain_ms", "jit_ms", "speedup", "repeat", "identical"}``: medians of the
        wall times, their ratio, and whether both versions returned equal values.

    Raises:
        XCSError: ``repeat``/``warmup`` are not counts.

    Example:
        >>> import time
        >>> from ember.xcs import compare, jit, op
        >>> @op
        ... def nap(i):
        ...     time.sleep(0.02)
        ...     return i
        >>> figures = compare(jit(lambda n: [nap(i) for i in range(n)]), 4, repeat=2)
        >>> figures["identical"], figures["speedup"] > 1.5
        (True, True)
    """
    from ember.xcs.api.jit import JitFunction

    for name, value, least in (("repeat", repeat, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise XCSError(f"compare({name}=...) must be an int >= {least}, got {value!r}.")
    plain, fast, jitted = _sides(fn, JitFunction)
    run = _runner(jitted._is_async)
    for _ in range(warmup):
        run(plain, args, kwargs)
        run(fast, args, kwargs)
    plain_times: list[float] = []
    jit_times: list[float] = []
    identical = True
    for _ in range(repeat):
        plain_result, seconds = _timed(run, plain, args, kwargs)
        plain_times.append(seconds)
        jit_result, seconds = _timed(run, fast, args, kwargs)
        jit_times.append(seconds)
        identical = identical and _same(plain_result, jit_result)
    import statistics

    comparison = Comparison(statistics.median(plain_times) * 1000,
                            statistics.median(jit_times) * 1000, repeat)
    _stats_of(jitted).record_comparison(comparison)
    return {**comparison.as_dict(), "identical": identical}


Runner = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]


def _sides(fn: Any, jit_type: type) -> tuple[Callable[..., Any], Callable[..., Any], Any]:
    """``(plain, jitted, the JitFunction)`` for ``fn``: a jitted function, a jitted method
    bound to its instance (``svc.run``), an instance of a jitted class, or a plain
    function, jitted for the occasion."""
    candidates: tuple[Any, ...] = (fn, getattr(fn, "__xcs_jit__", None))
    for candidate in candidates:
        if isinstance(candidate, jit_type):
            return candidate._fn, fn, candidate  # type: ignore[attr-defined]
        func = getattr(candidate, "__func__", None)
        if isinstance(func, jit_type):  # bound: the plain side is bound to the same self
            plain = types.MethodType(func._fn, candidate.__self__)  # type: ignore[attr-defined]
            return plain, fn, func
    jitted = jit_type(fn)
    return fn, jitted, jitted


def _same(plain: Any, jitted: Any) -> bool:
    """Whether two results are equal, arrays (whose ``==`` is elementwise) included."""
    if isinstance(plain, list | tuple) and isinstance(jitted, list | tuple):
        return type(plain) is type(jitted) and len(plain) == len(jitted) \
            and all(_same(a, b) for a, b in zip(plain, jitted, strict=True))
    if isinstance(plain, dict) and isinstance(jitted, dict):
        return plain.keys() == jitted.keys() and all(_same(plain[k], jitted[k]) for k in plain)
    try:
        equal = plain == jitted
    except Exception:  # values that refuse comparing are not shown equal
        return False
    if isinstance(equal, bool):
        return equal
    every = getattr(equal, "all", None)  # NumPy, JAX: elementwise
    try:
        return bool(every()) if callable(every) else bool(equal)
    except Exception:
        return False


def _runner(is_async: bool) -> Runner:
    if not is_async:
        return lambda target, args, kwargs: target(*args, **kwargs)
    return lambda target, args, kwargs: finish(target(*args, **kwargs))


def _timed(run: Runner, target: Callable[..., Any], args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run(target, args, kwargs)
    return result, time.perf_counter() - started
