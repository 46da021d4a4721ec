"""``op``: a plain function as an Operator that XCS schedules as one op.

pyember's ``@op`` turns a function into an Operator (composable with ``>>``, with
``input_spec``/``output_spec`` validation from annotations). Here that Operator is
also an XCS op: under ``@jit`` each call returns at once and runs concurrently, and
validation runs inside the op, on real values, so it never makes the trace wait.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, overload

from ember.operators._validation import Specs, specs_for
from ember.operators.base import Operator
from ember.xcs import Op

__all__ = ["FunctionOperator", "op"]


class FunctionOperator(Operator):
    """An Operator whose ``forward`` is one function, scheduled as one op.

    Attributes:
        fn: the wrapped function.
        input_spec: the model validating the input, or ``None`` (annotations that are
            models validate their argument).
        output_spec: the model validating the result, or ``None`` (the return
            annotation when it is a model).
        name: the op's name in the IR and stats.

    Build it with ``op``.
    """

    leaf = True

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None,
                 input_spec: type | None = None, output_spec: type | None = None,
                 **op_options: Any) -> None:
        if not callable(fn):
            raise TypeError(f"op() needs a callable, got {type(fn).__name__} {fn!r}.")
        specs = specs_for(fn, input_spec, output_spec)
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.input_spec = specs.input_spec
        self.output_spec = specs.output_spec
        body = fn if specs.empty else _validating(fn, specs, self.name)
        self._op = Op(body, name=self.name, **op_options)
        functools.update_wrapper(self, fn, updated=())
        try:
            self.__signature__ = inspect.signature(fn)
        except (TypeError, ValueError):
            pass

    @property  # per operator (op(fn, effect=True)), not per class as Operator.effect
    def effect(self) -> bool:  # type: ignore[override]
        """Whether the op keeps program order (``op(effect=True)``)."""
        return self._op.effect

    def as_op(self) -> Op:
        """The XCS op this operator runs as."""
        return self._op

    def forward(self, /, *args: Any, **kwargs: Any) -> Any:
        """Run the function now, with validation (no scheduling)."""
        return self._op.invoke(args, kwargs)

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._op(*args, **kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __repr__(self) -> str:
        return f"op({self.name})"


def _validating(fn: Callable[..., Any], specs: Specs, name: str) -> Callable[..., Any]:
    """``fn`` with its arguments and result validated (an ``async def`` stays one)."""
    if inspect.iscoroutinefunction(fn):

        async def validated_async(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = specs.validate_inputs(name, args, kwargs)
            return specs.validate_output(await fn(*args, **kwargs))

        return functools.wraps(fn)(validated_async)

    def validated(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = specs.validate_inputs(name, args, kwargs)
        return specs.validate_output(fn(*args, **kwargs))

    return functools.wraps(fn)(validated)


@overload
def op(fn: Callable[..., Any], /) -> FunctionOperator: ...


@overload
def op(fn: None = None, /, *, name: str | None = None, input_spec: type | None = None,
       output_spec: type | None = None, **op_options: Any
       ) -> Callable[[Callable[..., Any]], FunctionOperator]: ...


def op(fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
       input_spec: type | None = None, output_spec: type | None = None,
       **op_options: Any) -> Any:
    """Make a function an Operator that XCS runs as one op (pyember's ``@op``).

    Works as ``@op``, ``@op(input_spec=..., output_spec=..., name=...)`` or
    ``op(fn)``. The result is an ``Operator``: ``a >> b`` chains it, ``vmap`` maps it,
    and under ``@jit`` its calls run concurrently. Arguments annotated with a pydantic
    model (or ``input_spec``) are validated, dicts becoming models; the result is
    validated against the return annotation (or ``output_spec``).

    Args:
        fn: the function (sync or ``async def``).
        name: the op's name in the IR and stats (default: the function's name).
        input_spec: a model validating the input (see ``Operator``).
        output_spec: a model validating the result.
        **op_options: XCS op settings: ``effect``, ``max_concurrency``, ``limit_key``,
            ``deterministic``, ``kind``, ``async_fn`` (see ``ember.xcs.op``).

    Returns:
        A ``FunctionOperator`` (or a decorator making one).

    Raises:
        TypeError: ``fn`` is not callable, or a spec has no ``model_validate``.
        XCSError: a bad op setting.

    Example:
        >>> @op
        ... def summarize(text: str) -> str:
        ...     return text.split(".")[0]
        >>> @op
        ... def shout(text: str) -> str:
        ...     return text.upper() + "!"
        >>> (summarize >> shout)("Ember runs. It is fast.")
        'EMBER RUNS!'
    """

    def wrap(target: Callable[..., Any]) -> FunctionOperator:
        if isinstance(target, FunctionOperator) and not (name or input_spec or output_spec
                                                         or op_options):
            return target
        return FunctionOperator(target, name=name, input_spec=input_spec,
                                output_spec=output_spec, **op_options)

    return wrap if fn is None else wrap(fn)
