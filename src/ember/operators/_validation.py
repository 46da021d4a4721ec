"""Input and output validation for Operators: ``input_spec`` / ``output_spec``.

A *spec* is any class with a ``model_validate`` classmethod (a pydantic model; pydantic
itself is never imported here). Specs come from the class attributes ``input_spec`` /
``output_spec`` or, when those are not set, from annotations: a parameter annotated
with a model validates that argument, a return annotation validates the result.

- A single-parameter ``forward``: the argument is validated against ``input_spec``
  (a dict becomes the model; an instance of the model passes as is).
- Several parameters: the bound arguments, as a dict, are validated against
  ``input_spec`` and the model's fields become the arguments again.
- Validation errors are the spec's own (pydantic's ``ValidationError``).
"""

from __future__ import annotations

import functools
import inspect
import threading
import typing
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ember.xcs.tracing import context  # the library hook: calls as jitted code makes them

__all__ = ["OperatorClass", "Specs", "class_specs", "is_spec", "operator_specs", "specs_for",
           "takes_only_inputs", "validated"]


def takes_only_inputs(cls: type) -> bool:
    """Whether ``cls.forward`` is ``forward(self, inputs)`` (one parameter, ``inputs``),
    which pyember's ``op(field=...)`` also filled with the fields, as the keyword style's.
    Read from the code object (behind wrappers such as ``@jit``), so it costs no
    signature on every call.

    Example:
        >>> class Old:
        ...     def forward(self, inputs):
        ...         return inputs
        >>> takes_only_inputs(Old), takes_only_inputs(dict)
        (True, False)
    """
    forward = getattr(cls, "forward", None)
    code = getattr(inspect.unwrap(forward), "__code__", None) if callable(forward) else None
    return code is not None and code.co_argcount == 2 and not code.co_kwonlyargcount \
        and not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) \
        and code.co_varnames[1] == "inputs"


def is_spec(value: Any) -> bool:
    """Whether ``value`` can validate data (a class with ``model_validate``)."""
    return isinstance(value, type) and callable(getattr(value, "model_validate", None))


@dataclass(frozen=True)
class Specs:
    """The validation plan of one callable.

    Attributes:
        signature: the callable's signature (without ``self``).
        input_spec: validates the whole input (see the module docstring) or ``None``.
        output_spec: validates the result, or ``None``.
        parameters: per-parameter specs taken from annotations.
    """

    signature: inspect.Signature | None
    input_spec: type | None
    output_spec: type | None
    parameters: tuple[tuple[str, type], ...]

    @property
    def empty(self) -> bool:
        """Nothing to validate."""
        return self.input_spec is None and self.output_spec is None and not self.parameters

    def validate_inputs(self, owner: str, args: tuple[Any, ...], kwargs: dict[str, Any]
                        ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments after validation (unchanged when nothing validates them).

        Raises:
            TypeError: the arguments do not fit the signature, or ``input_spec`` is used
                with ``*args``/``**kwargs``.
        """
        if self.input_spec is None and not self.parameters:
            return args, kwargs
        if self.signature is None:
            raise TypeError(f"{owner}: input_spec needs a callable with an inspectable signature.")
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{owner}: arguments do not fit its signature: {error}") from None
        bound.apply_defaults()
        arguments = bound.arguments
        for name, spec in self.parameters:
            if name in arguments:
                arguments[name] = validated(spec, arguments[name])
        if self.input_spec is not None:
            names = [p.name for p in self.signature.parameters.values()
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if len(names) == 1 and len(self.signature.parameters) == 1:
                arguments[names[0]] = validated(self.input_spec, arguments[names[0]])
            else:
                _check_no_variadics(owner, self.signature)
                # Called as jitted code calls it: op results in the arguments are
                # validated as values (pydantic would take a lazy one for another type).
                model = context.call(self.input_spec.model_validate,  # type: ignore[attr-defined]
                                     dict(arguments))
                fields = model.model_dump() if hasattr(model, "model_dump") else dict(model)
                for name, value in fields.items():
                    if name not in self.signature.parameters:
                        raise TypeError(
                            f"{owner}: input_spec {self.input_spec.__name__} has field "
                            f"{name!r}, which is not a parameter of the callable."
                        )
                    arguments[name] = value
        return bound.args, bound.kwargs

    def validate_output(self, value: Any) -> Any:
        """``value`` validated against ``output_spec`` (unchanged without one)."""
        if self.output_spec is None:
            return value
        return validated(self.output_spec, value)


def validated(spec: type, value: Any) -> Any:
    """``value`` as a ``spec`` instance, validated as the jitted code would call it."""
    # type(), not isinstance: under @jit an op's value is checked when it is there
    # (by model_validate, which hands an instance back), not waited for here.
    if issubclass(type(value), spec):
        return value
    # Called as the jitted code would call it: under @jit, op results inside ``value``
    # are validated once they exist, and calls of the operator still run in parallel.
    if type(value) is dict and _built_by_pydantic(spec) and all(type(k) is str for k in value):
        # The same validation as model_validate(value); under @jit a new model's fields
        # cannot be the given lists ({"errors": [reply.text]} stays lazy), where
        # model_validate may hand its argument back, so XCS ran it at once (a barrier).
        return context.call(spec, **value)
    # A pydantic model class; pydantic is optional, so specs are typed ``type``.
    return context.call(spec.model_validate, value)  # type: ignore[attr-defined]


def _built_by_pydantic(spec: type) -> bool:
    """Whether ``spec(**fields)`` is pydantic's own ``__init__``, which validates
    ``fields`` exactly as ``spec.model_validate(fields)`` does."""
    if getattr(spec, "__pydantic_validator__", None) is None:
        return False
    init = next((klass for klass in spec.__mro__ if "__init__" in vars(klass)), object)
    # BaseModel's own, not RootModel's (which reads a "root" key as the root itself).
    return init.__name__ == "BaseModel" and init.__module__ == "pydantic.main"


def _check_no_variadics(owner: str, signature: inspect.Signature) -> None:
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(
                f"{owner}: input_spec cannot validate *args/**kwargs parameters; give "
                "the callable named parameters or validate inside it."
            )


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations are documentation, not a spec
        return {}


def _signature(fn: Callable[..., Any], drop_self: bool) -> inspect.Signature | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    if drop_self:
        parameters = list(signature.parameters.values())[1:]
        signature = signature.replace(parameters=parameters)
    return signature


def specs_for(fn: Callable[..., Any], input_spec: type | None, output_spec: type | None,
              *, drop_self: bool = False) -> Specs:
    """The validation plan of ``fn`` with explicit specs (``None``: from annotations).

    Args:
        fn: the callable whose arguments and result are validated.
        input_spec: validates the whole input; ``None`` to use parameter annotations.
        output_spec: validates the result; ``None`` to use the return annotation.
        drop_self: ``fn`` is an unbound method (``forward``): ignore its first parameter.

    Raises:
        TypeError: a spec is not a class with ``model_validate``.
    """
    for label, spec in (("input_spec", input_spec), ("output_spec", output_spec)):
        if spec is not None and not is_spec(spec):
            raise TypeError(
                f"{label} must be a class with model_validate (e.g. a pydantic BaseModel), "
                f"got {spec!r}."
            )
    signature = _signature(fn, drop_self)
    hints = _hints(fn)
    parameters: tuple[tuple[str, type], ...] = ()
    if input_spec is None and signature is not None:
        parameters = tuple((name, hints[name]) for name in signature.parameters
                           if is_spec(hints.get(name)))
    if output_spec is None and is_spec(hints.get("return")):
        output_spec = hints["return"]
    return Specs(signature, input_spec, output_spec, parameters)


# One entry per live Operator class (weak: classes made at run time can go); writes
# are guarded by _lock.
_class_specs: weakref.WeakKeyDictionary[type, Specs] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class OperatorClass(Protocol):
    """What ``class_specs`` reads of an ``Operator`` class (``base`` imports this module)."""

    input_spec: type | None
    output_spec: type | None

    def forward(self, *args: Any, **kwargs: Any) -> Any: ...


def class_specs(cls: type[OperatorClass]) -> Specs:
    """The validation plan of an Operator class's ``forward`` (computed once per class)."""
    specs = _class_specs.get(cls)
    if specs is None:
        specs = specs_for(cls.forward, cls.input_spec, cls.output_spec, drop_self=True)
        with _lock:
            _class_specs[cls] = specs
    return specs


def operator_specs(cls: type[OperatorClass], fields: Mapping[str, Any]) -> Specs:
    """The validation plan of one Operator: its own ``input_spec``/``output_spec``, if
    ``__init__`` set them (``fields`` is the instance's ``__dict__``), win over the class's.

    Raises:
        TypeError: a spec set on the instance is not a class with ``model_validate``.
    """
    if "input_spec" not in fields and "output_spec" not in fields:
        return class_specs(cls)
    input_spec = fields.get("input_spec", cls.input_spec)
    output_spec = fields.get("output_spec", cls.output_spec)
    if any(spec is not None and not is_spec(spec) for spec in (input_spec, output_spec)):
        return specs_for(cls.forward, input_spec, output_spec, drop_self=True)  # raises
    return _specs_with(cls, input_spec, output_spec)


@functools.lru_cache(maxsize=256)  # instances of one class usually share their specs
def _specs_with(cls: type[OperatorClass], input_spec: type | None,
                output_spec: type | None) -> Specs:
    return specs_for(cls.forward, input_spec, output_spec, drop_self=True)
