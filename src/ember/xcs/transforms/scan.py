"""``scan``: loop a function over a sequence with a carry; ``jax.lax.scan`` for tensors.

Tensor calls (carry and ``xs`` made of arrays and numbers) go to ``jax.lax.scan``.
When JAX's trace reaches an op, or the data is not tensor data, the loop runs in
Python: ``f`` runs in the calling thread, once per step, and the ops it calls are
traced, so ops that do not depend on the carry still run concurrently. Per-step
outputs are collected as in ``vmap`` (dicts and tuples transposed, other leaves in
lists). Extra ``args``/``kwargs`` reach ``f`` on every step on both paths.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs.api.jit import JitFunction
from ember.xcs.config import Config
from ember.xcs.errors import ConfigError, TransformError
from ember.xcs.tracing import context
from ember.xcs.transforms.batching import combine, split_batch
from ember.xcs.transforms.tensor import (
    OpReached,
    count_arrays,
    is_tensor_tree,
    probed,
    require_jax,
)

__all__ = ["scan"]

_reaches_ops: weakref.WeakSet[Any] = weakref.WeakSet()  # step functions that called an op


def _loop(f: Callable[..., Any], init: Any, steps: Sequence[Any], order: Sequence[int],
          args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
    carry = init
    ys: list[Any] = [None] * len(steps)
    for index in order:
        carry, y = _step(f, carry, steps[index], args, kwargs)
        ys[index] = y
    return carry, ys


def _step(f: Callable[..., Any], carry: Any, x: Any, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> tuple[Any, Any]:
    out = f(carry, x, *args, **kwargs)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TransformError(
            f"scan: f must return a (carry, y) pair, got {type(out).__name__}."
        )
    return out[0], out[1]


def _steps(xs: Any, length: int | None) -> list[Any]:
    if xs is None:
        if length is None:
            raise TransformError("scan: pass xs or length (with xs=None, length is required).")
        return [None] * length
    calls = split_batch((xs,), {}, 0, length, "scan")
    return [call_args[0] for call_args, _ in calls]


def _finish(result: tuple[Any, list[Any]]) -> tuple[Any, Any]:
    carry, ys = result
    return carry, combine(ys, "scan")


def scan(f: Callable[..., Any], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, *, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
         config: Config | None = None) -> tuple[Any, Any]:
    """Loop ``f(carry, x, *args, **kwargs) -> (carry, y)`` over ``xs``; ``jax.lax.scan`` semantics.

    Args:
        f: the step function.
        init: the initial carry.
        xs: what to loop over (arrays are sliced along axis 0; lists item by item;
            dicts/tuples leaf by leaf), or ``None`` with ``length``.
        length: the number of steps (required when ``xs`` is ``None``).
        reverse: loop from the last element to the first (``ys`` keep ``xs``'s order).
        args: extra positional arguments passed to every step after ``x``.
        kwargs: extra keyword arguments passed to every step.
        config: settings for the orchestration loop's jitted run.

    Returns:
        ``(final_carry, ys)``: ``ys`` stacked along axis 0 for tensors; for
        orchestration, per-step outputs combined as in ``vmap``.

    Raises:
        TransformError: ``f`` does not return a pair, ``xs``/``length`` disagree, or
            arrays without JAX installed.

    Example:
        >>> def running_text(carry, word, sep):
        ...     text = carry + sep + word if carry else word
        ...     return text, len(text)
        >>> scan(running_text, "", ["a", "bb", "c"], args=(" ",))
        ('a bb c', [1, 4, 6])
    """
    if config is not None and not isinstance(config, Config):
        raise ConfigError(f"scan(config=...) needs a Config, got {type(config).__name__}.")
    extra_args = tuple(args)
    extra_kwargs = dict(kwargs or {})
    if _is_tensor_scan(f, init, xs, extra_args, extra_kwargs):
        jax = require_jax("scan")
        body = functools.partial(_tensor_step, probed(f), extra_args, extra_kwargs)
        try:
            return jax.lax.scan(body, init, xs, length=length, reverse=reverse)  # type: ignore[no-any-return]
        except OpReached:
            _remember(f)
    steps = _steps(xs, length)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    if context.current_trace() is not None:  # join the outer trace
        carry, ys = _loop(f, init, steps, order, extra_args, extra_kwargs)
        handler = context.current_trace()
        lift = getattr(handler, "lift", None)
        if lift is None:
            return carry, combine(ys, "scan")
        return carry, lift("combine", combine, (ys, "scan"), {})
    runner = JitFunction(_loop, config, name=f"scan({getattr(f, '__name__', 'f')})")
    return _finish(runner(f, init, steps, order, extra_args, extra_kwargs))


def _tensor_step(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 carry: Any, x: Any) -> Any:
    return f(carry, x, *args, **kwargs)


def _is_tensor_scan(f: Callable[..., Any], init: Any, xs: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> bool:
    """Tensor data everywhere, arrays in ``xs`` (or in ``init`` when there is no ``xs``)."""
    try:
        if f in _reaches_ops:
            return False
    except TypeError:  # not weakly referenceable: no memory, just try
        pass
    if count_arrays((init, args, kwargs)) is None:
        return False
    return is_tensor_tree(init if xs is None else xs)


def _remember(f: Callable[..., Any]) -> None:
    try:
        _reaches_ops.add(f)
    except TypeError:
        pass
