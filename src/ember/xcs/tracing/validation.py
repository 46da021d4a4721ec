"""``Model.model_validate(data)`` of pydantic, lifted with the items of ``data`` apart.

A lifted operation gets copies of the containers it is given; one inside another (a
list in ``data``) could come back in the result, where it must be the caller's own, so
such a call runs at its site instead, a barrier (``tree.copies_shared_objects``).
pydantic builds every container a field typed ``list[str]``, ``dict[str, int]``, a
model... holds anew: for a model with only such fields, a copy cannot show, and
``validated_items`` hands the operation the dict's values as arguments of their own, so
that ``Model.model_validate({"k": [reply]})`` is lifted as ``Model(k=[reply])`` is.

Example:
    >>> import pydantic
    >>> class Reply(pydantic.BaseModel):
    ...     k: list[str]
    >>> fn, args = validated_items(Reply.model_validate, ({"k": ["a"]},), {})
    >>> args, fn(*args)
    ((('k',), ['a']), Reply(k=['a']))
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["validated_items"]

# Annotations whose values pydantic makes anew (or that hold no container).
_BUILT = frozenset({list, dict, set, frozenset, tuple, str, int, float, bool, bytes,
                    type(None)})


def validated_items(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                    ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``(fn, args)`` as given, or for ``Model.model_validate(data)`` (a plain dict with
    str keys, a model whose fields all build their containers) a function of the keys
    and the values of ``data`` apart, and those arguments."""
    data = args[0] if len(args) == 1 and not kwargs else None
    model = getattr(fn, "__self__", None)
    if type(data) is not dict or getattr(fn, "__name__", "") != "model_validate" \
            or not isinstance(model, type) or not all(type(key) is str for key in data) \
            or not _builds_containers(model, 3):
        return fn, args
    return _Validate(fn), (tuple(data), *data.values())


class _Validate:
    """``fn(dict(zip(keys, values)))``, named as ``fn``."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__qualname__ = getattr(fn, "__qualname__", "model_validate")

    def __call__(self, keys: tuple[str, ...], *values: Any) -> Any:
        return self.fn(dict(zip(keys, values, strict=True)))


def _builds_containers(model: type, depth: int) -> bool:
    fields = getattr(model, "__pydantic_fields__", None)
    if not isinstance(fields, dict) or getattr(model, "model_config", {}).get("extra") \
            in ("allow",):
        return False
    return all(_built(getattr(field, "annotation", None), depth) for field in fields.values())


def _built(annotation: Any, depth: int) -> bool:
    if annotation in _BUILT:
        return True
    if isinstance(annotation, type) and hasattr(annotation, "__pydantic_fields__"):
        return depth > 0 and _builds_containers(annotation, depth - 1)
    origin = typing.get_origin(annotation)
    if origin in _BUILT or origin is typing.Union or origin is types.UnionType:
        return all(_built(arg, depth) for arg in typing.get_args(annotation)
                   if arg is not Ellipsis)
    return False
