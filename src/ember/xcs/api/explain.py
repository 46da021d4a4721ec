"""``explain``: what a jitted function (or a plain one, jitted for it) did.

The report itself is written by ``api.explanation`` from the function's records; this
module adds what the public function offers beyond ``JitFunction.explain``: any
jitted callable (bound methods, jitted ``Operator`` classes) and plain functions,
which are jitted for the occasion.
"""

from __future__ import annotations

from typing import Any

from ember.xcs.api.awaiting import finish
from ember.xcs.api.explanation import explanation
from ember.xcs.api.jit import JitFunction, jit
from ember.xcs.api.stats import _stats_of
from ember.xcs.api.views import ExplainReport
from ember.xcs.errors import XCSError

__all__ = ["explain"]


def explain(fn: Any, /, *args: Any, **kwargs: Any) -> ExplainReport:
    """Describe the last call of a jitted function, after running it if given arguments.

    The text has the IR, the parallel groups, the critical path with measured times,
    every place the glue waited (grouped, with file:line, whether it was found in the
    code before it ran — ``static`` — asked for at run time — ``dynamic`` — or
    ``learned``, and what to do about it), learned barriers and fallbacks with their
    reasons. With arguments the function really runs (its ops are called); the call
    of an ``async def`` function is awaited to its end, on a loop of its own.

    Args:
        fn: a jitted function; a plain function is jitted for the occasion, which
            needs arguments to run it.
        *args: arguments for a fresh call; none to explain the last call.
        **kwargs: keyword arguments for that call.

    Returns:
        A multi-line report: a ``str`` that notebooks show as formatted HTML.

    Raises:
        XCSError: ``fn`` is a plain function and no arguments were given.

    Example:
        >>> from ember.xcs import jit, op
        >>> @op
        ... def inc(x):
        ...     return x + 1
        >>> @jit
        ... def two(x):
        ...     return [inc(x), inc(x)]
        >>> print(explain(two, 1).splitlines()[0])
        explain: two
    """
    target = _jitted(fn, args, kwargs)
    if args or kwargs:
        finish(target(*args, **kwargs))  # an async def's call runs to its end too
    return explanation(_stats_of(target), getattr(target, "config", None), target)


def _jitted(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn`` if it is jitted, else ``jit(fn)`` (which needs arguments to explain)."""
    if isinstance(fn, JitFunction) or getattr(fn, "__xcs_jit__", None) is not None:
        return fn
    try:
        _stats_of(fn)  # a jitted method bound to its instance, a vmap: what stats know
        return fn
    except XCSError:
        pass
    if not args and not kwargs:
        raise XCSError(
            f"{fn!r} is not a jitted function and has no call to explain; run it with "
            "arguments (explain(f, *args)) or explain a @jit function after calling it."
        )
    return jit(fn)
