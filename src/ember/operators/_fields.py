"""The fields an ``Operator`` subclass declares, and the ``__init__`` made from them.

A subclass that annotates fields and writes no ``__init__`` gets one, as a dataclass
would: the fields in order, positional or keyword, with their defaults. A default may
be a ``dataclasses.field(default=...)`` or ``field(default_factory=...)`` (each
instance gets a fresh value from the factory), and ``__post_init__``, when the class
has one, runs after the fields are set (before the instance is frozen), as in
pyember's equinox modules.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["declared_fields", "generated_init", "has_custom_init"]

_MISSING = object()


class _Factory:
    """A default made fresh for each instance (``field(default_factory=...)``)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def __repr__(self) -> str:
        return "<factory>"  # what dataclass signatures show too


def _default(value: Any) -> Any:
    if not isinstance(value, dataclasses.Field):
        return value
    if value.default is not dataclasses.MISSING:
        return value.default
    if value.default_factory is not dataclasses.MISSING:
        return _Factory(value.default_factory)
    return _MISSING


def declared_fields(cls: type, base: type) -> list[tuple[str, Any]]:
    """Annotated fields of ``cls`` and its bases below ``base``: ``(name, default)``.

    A name some class of the MRO declares a ``ClassVar`` (``base``'s ``specification``)
    is not a field, even where a subclass annotates it again.
    """
    class_vars = {name for klass in cls.__mro__
                  for name, annotation in inspect.get_annotations(klass).items()
                  if _is_class_var(annotation)}
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is base or not issubclass(klass, base):
            continue
        for name in inspect.get_annotations(klass):
            if name in class_vars or name.startswith("__"):
                continue
            fields[name] = _default(klass.__dict__.get(name, _MISSING))
    return list(fields.items())


def _is_class_var(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


def has_custom_init(cls: type, base: type) -> bool:
    """Whether a class between ``cls`` and ``base`` wrote its own ``__init__``."""
    for klass in cls.__mro__[1:]:
        if klass is base:
            return False
        init = klass.__dict__.get("__init__")
        if init is not None and not getattr(init, "__ember_generated__", False):
            return True
    return False


def generated_init(cls: type, base: type) -> Callable[..., None]:
    """An ``__init__`` taking the declared fields (positional or keyword, in order).

    Fields without a default that follow one with a default become keyword-only.
    """
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    seen_default = False
    for name, default in declared_fields(cls, base):
        seen_default = seen_default or default is not _MISSING
        kind = (inspect.Parameter.KEYWORD_ONLY if seen_default and default is _MISSING
                else inspect.Parameter.POSITIONAL_OR_KEYWORD)
        parameters.append(inspect.Parameter(
            name, kind, default=inspect.Parameter.empty if default is _MISSING else default))
    signature = inspect.Signature(parameters)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}(): {error}") from None
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            object.__setattr__(self, name, value.make() if type(value) is _Factory else value)
        post_init = getattr(type(self), "__post_init__", None)
        if post_init is not None:
            post_init(self)

    # inspect reads __signature__ from the function object, and __ember_generated__ marks
    # it as ours; functions take any attribute, but their type declares neither.
    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__ember_generated__ = True  # type: ignore[attr-defined]
    return __init__
