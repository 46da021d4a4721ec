"""``grad`` and ``value_and_grad``: ``jax.grad`` semantics, with ops as constants.

While JAX traces the function a ``GradProbe`` is the op handler: an op whose
arguments do not depend on the differentiated input runs at once and its output is a
constant of the computation (hybrid functions work); an op that receives a traced
value raises ``TransformError`` naming the op and the line, since an LLM or tool call
has no derivative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs.errors import TransformError
from ember.xcs.tracing import context
from ember.xcs.tracing.lazy import contains_lazy
from ember.xcs.transforms.tensor import GradProbe, probed, require_jax

__all__ = ["grad", "value_and_grad"]


class _Differentiated:
    """``fn`` differentiated by JAX with ops treated as constants."""

    def __init__(self, fn: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool,
                 with_value: bool) -> None:
        if not callable(fn):
            raise TransformError(f"grad() needs a callable, got {type(fn).__name__} {fn!r}.")
        self._fn = fn
        self._argnums = tuple(argnums) if isinstance(argnums, list) else argnums
        self._has_aux = has_aux
        self._with_value = with_value
        self._transform = "value_and_grad" if with_value else "grad"
        try:
            functools.update_wrapper(self, fn, updated=())
        except (AttributeError, TypeError):
            pass

    def __repr__(self) -> str:
        return f"<xcs {self._transform}({getattr(self._fn, '__name__', self._fn)!r})>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        jax = require_jax(self._transform)
        outer = context.current_trace()
        materialize = getattr(outer, "materialize", None)
        if materialize is not None and contains_lazy((args, kwargs)):
            args, kwargs = materialize((tuple(args), dict(kwargs)))  # values of earlier ops
        traced = probed(self._fn, GradProbe(outer, self._transform))
        transform = jax.value_and_grad if self._with_value else jax.grad
        return transform(traced, argnums=self._argnums, has_aux=self._has_aux)(*args, **kwargs)


def grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of ``fn`` with respect to argument(s) ``argnums`` (``jax.grad``).

    Ops called by ``fn`` run once per call with concrete values and count as
    constants, so a function mixing tensor code and LLM/tool calls can be
    differentiated as long as the ops do not consume the differentiated input.

    Args:
        fn: a function returning a scalar (or ``(scalar, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate.
        has_aux: ``fn`` returns ``(value, aux)``; the result is ``(grad, aux)``.

    Returns:
        A function with ``fn``'s arguments returning the gradient.

    Raises:
        TransformError: JAX is not installed, or the differentiated input flows into
            an op (the message names the op and file:line).

    Example:
        >>> import jax.numpy as jnp
        >>> float(grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))[1])
        4.0
    """
    return _Differentiated(fn, argnums, has_aux, with_value=False)


def value_and_grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """``fn``'s value and gradient together (``jax.value_and_grad``); ops as in ``grad``.

    Args:
        fn: a function returning a scalar (or ``(scalar, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate.
        has_aux: ``fn`` returns ``(value, aux)``; the result is ``((value, aux), grad)``.

    Returns:
        A function returning ``(value, grad)``.

    Raises:
        TransformError: as ``grad``.

    Example:
        >>> import jax.numpy as jnp
        >>> value, slope = value_and_grad(lambda x: x * x)(3.0)
        >>> float(value), float(slope)
        (9.0, 6.0)
    """
    return _Differentiated(fn, argnums, has_aux, with_value=True)
