"""``Operator``: a composable, immutable unit of a compound AI program.

An Operator's ``forward`` is ordinary code. Called under ``@jit`` a non-leaf Operator
runs its ``forward`` inline, so the ops inside it are traced and run concurrently (like
a non-leaf module in torch.fx). An Operator with ``leaf = True`` is scheduled as one
op instead: its ``forward`` runs on the engine as a single node.

Operators are frozen once ``__init__`` returns (``update_params`` gives an updated
copy) and are JAX pytrees whose array fields are the leaves (see ``_pytree``), so
``jax.grad``, ``jax.jit``, ``tree_map`` and optax updates work on them. JAX stays
optional: nothing here imports it.

``Chain`` lives here too: it is what ``a >> b`` builds, so ``Operator`` and its
composition are one unit (``blocks`` re-exports it with the other building blocks).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

from ember.errors import EmberError
from ember.operators._fields import declared_fields, generated_init, has_custom_init
from ember.operators._leaf import leaf_op
from ember.operators._pytree import (
    FieldPytree,
    dynamic_fields,
    holds_arrays,
    register_operator_class,
)
from ember.operators._validation import operator_specs, takes_only_inputs
from ember.operators.specification import Specification
from ember.xcs import JitFunction, Op, XCSError
from ember.xcs.tracing import context  # the library hook: glue(forward) and call under @jit

__all__ = ["Chain", "FrozenOperatorError", "Operator", "call_step", "takes_inputs_keyword"]



class FrozenOperatorError(dataclasses.FrozenInstanceError, EmberError):
    """A field of an Operator was assigned or deleted after ``__init__``.

    An ``AttributeError`` (as a frozen dataclass raises) and an ``EmberError``.

    Operators are immutable values (so JAX transforms and concurrent calls can share
    them). Fix: build an updated copy with ``operator.update_params(name=value)``, or
    set the field inside ``__init__``.
    """


class Operator(FieldPytree):
    """Base class for operators.

    Subclasses define ``forward`` in either style:

    - keyword style from the seeds: ``def forward(self, *, inputs): ...``, called as
      ``operator(inputs={...})``;
    - positional style: ``def forward(self, question): ...``, called as
      ``operator("...")``.

    Fields are set in ``__init__``, or declared as annotations on a class without an
    ``__init__`` (one is generated, as for a dataclass: ``Scale(weight=w)``). After
    ``__init__`` returns the operator is frozen. Array fields are JAX pytree leaves.
    ``a >> b`` composes operators (and plain callables) into a ``Chain``.

    Class attributes:
        leaf: schedule the whole ``forward`` as one op under ``@jit``.
        max_concurrency: with ``leaf``, cap concurrent runs of this operator class.
        effect: with ``leaf``, keep program order, as ``@op(effect=True)`` does: each
            call runs eagerly, in order, on the caller's own objects (for a ``forward``
            that changes its arguments, writes files, sends messages).
        input_spec: a pydantic model validating the input (or ``None``; parameter
            annotations that are models validate their argument).
        output_spec: a pydantic model validating the result (or the return annotation).
        Either may also be set on the instance in ``__init__``; the instance's wins.
        specification: pyember's ``Specification``; its ``input_model`` and
            ``structured_output`` become the class's ``input_spec`` and ``output_spec``
            (unless the class sets those itself).

    pyember's forms work too: ``Operator[In, Out]`` is ``Operator`` (the types are
    documentation), and a keyword-style operator called with fields,
    ``op(query="...")``, gets them as its inputs (``inputs={"query": "..."}``, made
    into the ``input_spec`` model when there is one).

    Example:
        >>> class Upper(Operator):
        ...     def forward(self, *, inputs):
        ...         return {"text": inputs["text"].upper()}
        >>> Upper()(inputs={"text": "hi"})
        {'text': 'HI'}
    """

    # Bookkeeping lives in slots, outside __dict__, which holds exactly the fields
    # (FieldPytree declares __dict__ and _ember_dynamic).
    __slots__ = ("__weakref__", "_ember_depth", "_ember_frozen", "_ember_op")

    leaf: ClassVar[bool] = False
    max_concurrency: ClassVar[int | None] = None
    effect: ClassVar[bool] = False
    specification: ClassVar[Specification | None] = None
    input_spec: type | None = None
    output_spec: type | None = None

    def __class_getitem__(cls, types: Any) -> type[Self]:
        """``Operator[In, Out]``, pyember's typed form: the class itself."""
        return cls

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specification = cls.__dict__.get("specification")
        if specification is not None:
            if not isinstance(specification, Specification):
                raise TypeError(
                    f"{cls.__name__}.specification must be a Specification instance "
                    f"(ember.api.operator.Specification), got {specification!r}."
                )
            inputs, output = specification.validators()
            if "input_spec" not in cls.__dict__:
                cls.input_spec = inputs
            if "output_spec" not in cls.__dict__:
                cls.output_spec = output
        if "__init__" in cls.__dict__:
            # Replacing a class's __init__ is the point here (mypy forbids it in general).
            cls.__init__ = _freezing(cls.__dict__["__init__"])  # type: ignore[method-assign]
        elif declared_fields(cls, Operator) and not has_custom_init(cls, Operator):
            cls.__init__ = _freezing(generated_init(cls, Operator))  # type: ignore[method-assign]
        register_operator_class(cls)

    def __init__(self) -> None:
        object.__setattr__(self, "_ember_frozen", True)

    # -- immutability ---------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_ember_frozen", False) and not name.startswith("_ember_"):
            raise FrozenOperatorError(
                f"{type(self).__name__} is frozen: cannot set field {name!r} after __init__. "
                f"Use operator.update_params({name}=...) for an updated copy."
            )
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if getattr(self, "_ember_frozen", False):
            raise FrozenOperatorError(
                f"{type(self).__name__} is frozen: cannot delete field {name!r}."
            )
        object.__delattr__(self, name)

    def update_params(self, **params: Any) -> Operator:
        """A copy of this operator with some fields replaced (this one is unchanged).

        ``__init__`` is not run again: the copy has the same fields, with ``params``
        put in. A replaced field holding arrays becomes (or stays) a pytree leaf.

        Args:
            **params: field names and their new values.

        Returns:
            The updated copy (``self`` when ``params`` is empty).

        Raises:
            AttributeError: a name is not a field of this operator.

        Example:
            >>> class Greeter(Operator):
            ...     greeting: str
            ...     def forward(self, name):
            ...         return f"{self.greeting}, {name}"
            >>> hello = Greeter(greeting="Hello")
            >>> hello.update_params(greeting="Hi")("Ada"), hello("Ada")
            ('Hi, Ada', 'Hello, Ada')
        """
        if not params:
            return self
        fields = self.__dict__
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise AttributeError(
                f"{type(self).__name__}.update_params: unknown field(s) {', '.join(unknown)}; "
                f"its fields are: {', '.join(_public(fields)) or '(none)'}."
            )
        dynamic = set(dynamic_fields(self))
        dynamic.update(name for name, value in params.items() if holds_arrays(value))
        copy = object.__new__(type(self))
        copy.__dict__.update(fields)
        copy.__dict__.update(params)
        object.__setattr__(copy, "_ember_dynamic", tuple(n for n in copy.__dict__ if n in dynamic))
        object.__setattr__(copy, "_ember_frozen", True)
        return copy

    # -- calling --------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute this operator's output. Subclasses must override it."""
        raise NotImplementedError(_no_forward(type(self)))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if type(self).leaf:
            return self.as_op()(*args, **kwargs)
        return self._run(*args, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        """``forward`` with the inputs and result validated (when specs are set)."""
        if type(self).forward is Operator.forward:  # before specs would read its signature
            raise NotImplementedError(_no_forward(type(self)))
        if kwargs and not args and "inputs" not in kwargs and (
                takes_inputs_keyword(type(self)) or takes_only_inputs(type(self))):
            kwargs = {"inputs": kwargs}  # pyember's op(field=...): the fields are the inputs
        specs = operator_specs(type(self), self.__dict__)
        # Under @jit, forward is glue like the jitted function itself: run its rewritten form.
        forward = context.glue(self.forward)
        if specs.empty:
            return forward(*args, **kwargs)
        args, kwargs = specs.validate_inputs(type(self).__name__, args, kwargs)
        return specs.validate_output(forward(*args, **kwargs))

    def as_op(self) -> Op:
        """This operator's ``forward`` as one op (what ``leaf = True`` schedules).

        One op per operator, made on first use, so that what XCS learns of its runs
        (the class of its results, how long they take) serves every later call. The
        op's body is ``forward`` with the specs validated; XCS reads ``forward``
        itself for the return annotation and the globals it reads, as it reads an
        ``@op`` function.
        """
        return leaf_op(self)

    def __getstate__(self) -> Any:
        """The fields and bookkeeping, without the op ``as_op`` made: a copy (pickled,
        ``copy.copy``) makes its own, which calls the copy."""
        state = super().__getstate__()
        if isinstance(state, tuple) and state[1] and "_ember_op" in state[1]:
            fields, slots = state
            state = (fields, {name: value for name, value in slots.items()
                              if name != "_ember_op"})
        return state

    def __rshift__(self, other: Callable[..., Any]) -> Chain:
        return Chain(self, other)

    def __rrshift__(self, other: Callable[..., Any]) -> Chain:
        return Chain(other, self)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={self.__dict__[name]!r}" for name in _public(self.__dict__))
        return f"{type(self).__name__}({fields})"


def _public(fields: dict[str, Any]) -> list[str]:
    return [name for name in fields if not name.startswith("_")]


def _freezing(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` that freezes the instance when the outermost ``__init__`` returns.

    A depth count (``super().__init__`` nests) makes only the outermost call freeze.
    """

    @functools.wraps(init)
    def wrapper(self: Operator, *args: Any, **kwargs: Any) -> None:
        depth = getattr(self, "_ember_depth", 0)
        object.__setattr__(self, "_ember_depth", depth + 1)
        try:
            init(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_ember_depth", depth)
        if depth == 0:
            object.__setattr__(self, "_ember_frozen", True)

    # A marker on the function object (read by _has_custom_init); functions take any
    # attribute, but their type declares none.
    wrapper.__ember_freezing__ = True  # type: ignore[attr-defined]
    return wrapper


_KEYWORD_STYLE: dict[type[Operator], bool] = {}


def takes_inputs_keyword(cls: type[Operator]) -> bool:
    """Whether ``cls.forward`` uses the keyword style ``forward(self, *, inputs)``.

    Example:
        >>> class Keyword(Operator):
        ...     def forward(self, *, inputs):
        ...         return inputs
        >>> takes_inputs_keyword(Keyword)
        True
    """
    known = _KEYWORD_STYLE.get(cls)
    if known is not None:
        return known
    parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    keyword_style = not positional and any(
        p.name == "inputs" and p.kind is p.KEYWORD_ONLY for p in parameters
    )
    # A plain dict is enough: a racing thread computes the same value.
    _KEYWORD_STYLE[cls] = keyword_style
    return keyword_style


def call_step(step: Callable[..., Any], value: Any) -> Any:
    """Call ``step`` on ``value`` as every block calls its members (under ``@jit`` too).

    A keyword-style operator (``forward(self, *, inputs)``) gets ``inputs=value``, also
    when it is jitted (``jit(operator)``, a ``JitFunction`` wrapping it); any other
    callable gets ``value`` positionally.

    Example:
        >>> class Shout(Operator):
        ...     def forward(self, *, inputs):
        ...         return inputs.upper()
        >>> call_step(Shout(), "hi"), call_step(str.lower, "HI")
        ('HI', 'hi')
    """
    operator: Any = step
    while isinstance(operator, JitFunction):  # jit(operator): called as the operator is
        operator = getattr(operator, "__wrapped__", None)
    if isinstance(operator, Operator) and takes_inputs_keyword(type(operator)):
        return context.call(step, inputs=value)
    return context.call(step, value)


class Chain(Operator):
    """Run steps in order, each on the previous step's output (``a >> b >> c``).

    A keyword-style operator step (``forward(self, *, inputs)``) is called as
    ``step(inputs=value)``; every other step as ``step(value)``. Nested chains are
    flattened.

    Args:
        *steps: operators or plain callables, or one list of them (pyember's
            ``Chain([a, b])``).
        operators: the steps as one list, by keyword (pyember's ``Chain(operators=[a, b])``).

    Raises:
        XCSError: no steps, steps given both ways, or a step that is not callable.

    Example:
        >>> class Shout(Operator):
        ...     def forward(self, text):
        ...         return text.upper() + "!"
        >>> pipeline = str.strip >> Shout() >> len
        >>> pipeline("  hi "), len(pipeline.steps)
        (3, 3)
    """

    steps: tuple[Callable[..., Any], ...]

    def __init__(self, *steps: Callable[..., Any] | Sequence[Callable[..., Any]],
                 operators: Sequence[Callable[..., Any]] | None = None) -> None:
        if operators is not None:
            if steps:
                raise XCSError("Chain: pass the steps once, positionally or as operators=[...].")
            steps = (operators,)
        if len(steps) == 1 and isinstance(steps[0], list | tuple):
            steps = tuple(steps[0])  # pyember's Chain([a, b, c])
        if not steps:
            raise XCSError("Chain needs at least one step, e.g. Chain(ensemble, MostCommon()).")
        flat: list[Callable[..., Any]] = []
        for step in steps:
            if not callable(step):
                raise XCSError(f"Chain steps must be callable, got {type(step).__name__} {step!r}.")
            flat.extend(step.steps if isinstance(step, Chain) else (step,))
        self.steps = tuple(flat)

    @property
    def operators(self) -> tuple[Callable[..., Any], ...]:
        """The steps (pyember's name for them)."""
        return self.steps

    def forward(self, value: Any) -> Any:
        """``value`` passed through every step in order."""
        for step in self.steps:
            value = call_step(step, value)
        return value

    def __repr__(self) -> str:
        return " >> ".join(repr(step) for step in self.steps)


def _no_forward(cls: type) -> str:
    hint = (" It defines call(): rename it to forward (pyember's older examples called it "
            "call)." if callable(getattr(cls, "call", None)) else "")
    return f"{cls.__name__} must define forward(self, *, inputs) or forward(self, ...).{hint}"
