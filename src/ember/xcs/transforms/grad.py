"""``grad`` and ``value_and_grad``: ``jax.grad`` semantics, with ops as constants.

While JAX traces the function a ``GradProbe`` is the op handler: an op whose
arguments do not depend on the differentiated input runs at once and its output is a
constant of the computation (hybrid functions work); an op that receives a traced
value, by any route (an argument, a container, an object, an f-string), raises
``TransformError`` naming the op and the line, since an LLM or tool call has no
derivative. An op of kind ``tensor`` (``mark_tensor``) is tensor code: JAX
differentiates through it, as ``jax.grad`` does through the plain function.

Inside ``autograph()``, a call with recorded arguments (a ``placeholder``, an op's
result) is recorded as one node, like ``vmap`` and ``scan``: it differentiates when the
graph executes, with the real values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs import tree
from ember.xcs.config import refuse_misplaced, settings_of, without_catchalls
from ember.xcs.errors import TransformError
from ember.xcs.tracing import context
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.transforms.batching import NOT_RECORDED, record_whole_call
from ember.xcs.transforms.leaves import ARRAY, has_tracer, leaf_kind, require_jax
from ember.xcs.transforms.probes import GradProbe, probed, watch_tracer_text

__all__ = ["grad", "value_and_grad"]


class _Differentiated:
    """``fn`` differentiated by JAX with ops treated as constants."""

    def __init__(self, fn: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool,
                 with_value: bool, holomorphic: bool = False, allow_int: bool = False,
                 allow_hybrid: bool = True, strict: bool = True) -> None:
        self._transform = "value_and_grad" if with_value else "grad"
        if not callable(fn):
            raise TransformError(
                f"{self._transform}() needs a callable, got {type(fn).__name__} {fn!r}.")
        for name, flag in (("has_aux", has_aux), ("holomorphic", holomorphic),
                           ("allow_int", allow_int), ("allow_hybrid", allow_hybrid),
                           ("strict", strict)):
            if not isinstance(flag, bool):
                raise TransformError(f"{self._transform}({name}=...) must be a bool, got "
                                     f"{flag!r}.")
        self._fn = fn
        self._argnums = tuple(argnums) if isinstance(argnums, list) else argnums
        self._has_aux = has_aux
        self._with_value = with_value
        self._holomorphic = holomorphic
        self._allow_int = allow_int
        self._allow_hybrid = allow_hybrid
        self._strict = strict
        try:
            functools.update_wrapper(self, fn, updated=())
        except (AttributeError, TypeError):
            pass

    def __repr__(self) -> str:
        return f"<xcs {self._transform}({getattr(self._fn, '__name__', self._fn)!r})>"

    def _init_args(self) -> tuple[Any, ...]:
        """The arguments that make it again (around another ``fn``, see ``batching``)."""
        return (self._fn, self._argnums, self._has_aux, self._with_value,
                self._holomorphic, self._allow_int, self._allow_hybrid, self._strict)

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        jax = require_jax(self._transform)
        name = f"{self._transform}({getattr(self._fn, '__name__', 'f')})"
        recorded = record_whole_call(self, name, args, kwargs, reads=True)
        if recorded is not NOT_RECORDED:  # autograph() with recorded arguments: one node
            pair = self._with_value or self._has_aux  # (value, grad) / (grad, aux)
            return (recorded[0], recorded[1]) if pair else recorded
        outer = context.current_trace()
        materialize = getattr(outer, "materialize", None)
        if materialize is not None and tree.contains((args, kwargs), Lazy):
            args, kwargs = materialize((tuple(args), dict(kwargs)))  # values of earlier ops
        watch_tracer_text(jax)
        probe = GradProbe(outer, self._transform, allow_ops=self._allow_hybrid)
        checked = self._checked(jax, probe)
        transform = jax.value_and_grad if self._with_value else jax.grad
        return transform(checked, argnums=self._argnums, has_aux=self._has_aux,
                         holomorphic=self._holomorphic,
                         allow_int=self._allow_int)(*args, **kwargs)

    def _checked(self, jax: Any, probe: GradProbe) -> Callable[..., Any]:
        """``fn`` under ``probe``, refusing an orchestration-only result (see ``grad``)."""
        traced = probed(self._fn, probe)

        def run(*args: Any, **kwargs: Any) -> Any:
            result = traced(*args, **kwargs)
            value = result[0] if self._has_aux and isinstance(result, tuple) else result
            if probe.ops_called and not has_tracer(value):
                if self._strict or (leaf_kind(value) != ARRAY and not isinstance(value, float)):
                    raise TransformError(
                        f"{self._transform}: {getattr(self._fn, '__name__', 'the function')} "
                        f"is orchestration-only here: it called {probe.ops_called} op(s) "
                        f"(LLM/tool calls) and its result ({type(value).__name__}) does not "
                        "depend on the differentiated argument(s), so there is nothing to "
                        "differentiate. Differentiate the tensor part (a function of the "
                        "parameters), or pass strict=False to get zero gradients."
                    )
                value = jax.numpy.asarray(value, dtype=float)
                return (value, result[1]) if self._has_aux else value
            return result

        return run


def grad(fn: Callable[..., Any] | None = None, argnums: int | Sequence[int] = 0,
         has_aux: bool = False, *positional: Any, holomorphic: bool = False,
         allow_int: bool = False, allow_hybrid: bool = True, strict: bool = True,
         **settings: Any) -> Any:
    """The gradient of ``fn`` with respect to argument(s) ``argnums`` (``jax.grad``).

    Ops called by ``fn`` run once per call with concrete values and count as
    constants, so a function mixing tensor code and LLM/tool calls (a *hybrid*) can be
    differentiated as long as the ops do not consume the differentiated input. Without
    ``fn`` it is a decorator factory: ``@grad(argnums=1)``.

    Args:
        fn: a function returning a scalar (or ``(scalar, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate.
        has_aux: ``fn`` returns ``(value, aux)``; the result is ``(grad, aux)``.
        holomorphic: ``fn`` is holomorphic (complex inputs and outputs), as in JAX.
        allow_int: allow integer inputs (their gradient is float0), as in JAX.
        allow_hybrid: allow ops inside ``fn`` (default); ``False`` makes any op call
            an error, for code that must be pure tensor code (ops of kind ``tensor``
            are tensor code: they are differentiated through either way).
        strict: an orchestration-only call (ops were called and the result does not
            depend on the differentiated input) raises ``TransformError``; with
            ``False`` it gets zero gradients, as ``jax.grad`` gives a constant function.

    Returns:
        A function with ``fn``'s arguments returning the gradient (or a decorator).

    Raises:
        TransformError: JAX is not installed; the differentiated input flows into an op
            (the message names the op and file:line); an op with ``allow_hybrid=False``;
            an orchestration-only function with ``strict=True``.
        ConfigError: an argument it does not take (``grad`` has no settings: a
            ``Config``, ``max_workers=4``, a misspelt keyword).

    Example:
        >>> import jax.numpy as jnp
        >>> float(grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))[1])
        4.0
        >>> @grad(argnums=1)
        ... def slope(a, b):
        ...     return a * b
        >>> float(slope(3.0, 2.0))
        3.0
    """
    refuse_misplaced("grad()", _PARAMETERS, (argnums, has_aux), positional, settings,
                     takes_config=False)

    def make(target: Callable[..., Any]) -> Callable[..., Any]:
        return _Differentiated(target, argnums, has_aux, False, holomorphic, allow_int,
                               allow_hybrid, strict)

    return make if fn is None else make(fn)


def value_and_grad(fn: Callable[..., Any] | None = None, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False, *positional: Any, holomorphic: bool = False,
                   allow_int: bool = False, allow_hybrid: bool = True,
                   strict: bool = True, **settings: Any) -> Any:
    """``fn``'s value and gradient together (``jax.value_and_grad``); ops as in ``grad``.

    Args:
        fn: a function returning a scalar (or ``(scalar, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate.
        has_aux: ``fn`` returns ``(value, aux)``; the result is ``((value, aux), grad)``.
        holomorphic: as in ``grad``.
        allow_int: as in ``grad``.
        allow_hybrid: as in ``grad``.
        strict: as in ``grad``.

    Returns:
        A function returning ``(value, grad)`` (or a decorator without ``fn``).

    Raises:
        TransformError: as ``grad``.
        ConfigError: as ``grad``.

    Example:
        >>> import jax.numpy as jnp
        >>> value, slope = value_and_grad(lambda x: x * x)(3.0)
        >>> float(value), float(slope)
        (9.0, 6.0)
    """
    refuse_misplaced("value_and_grad()", _PARAMETERS, (argnums, has_aux), positional,
                     settings, takes_config=False)

    def make(target: Callable[..., Any]) -> Callable[..., Any]:
        return _Differentiated(target, argnums, has_aux, True, holomorphic, allow_int,
                               allow_hybrid, strict)

    return make if fn is None else make(fn)


grad.__signature__ = without_catchalls(grad)  # type: ignore[attr-defined]
value_and_grad.__signature__ = without_catchalls(value_and_grad)  # type: ignore[attr-defined]
_PARAMETERS = settings_of(grad)
