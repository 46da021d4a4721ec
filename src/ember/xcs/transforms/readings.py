"""Where ``jax.vmap`` would read a tensor-only batch differently from the batching rules.

A call whose leaves are all arrays and numbers goes to ``jax.vmap`` (or ``pmap``'s
sharded ``jax.vmap``), which maps *every leaf* under an axis: a list or tuple is a
pytree whose arrays are each sliced, and a number cannot be mapped at all. The
orchestration rules (``splitting``) read the same values otherwise: a mapped list (or
positional tuple) is the batch itself, item ``i`` being its element ``i``, and a
record's tuple and number fields (and tuple or number keywords) are broadcast. Which
reading applied used to depend on whether some *other* argument was a string, so
``refuse_ambiguous`` raises ``TransformError`` on such a call instead, naming the value
and the ways to say what is meant. An explicit ``in_axes`` structure (``([0, 0],)`` for
a list of two arrays) means the same on both paths and is accepted.

Example:
    >>> import numpy as np
    >>> refuse_ambiguous((np.ones(3),), {}, 0, "vmap")  # an array: one reading
    >>> try:
    ...     refuse_ambiguous(([np.ones(3), np.zeros(3)],), {}, 0, "vmap")
    ... except TransformError as error:
    ...     print(str(error).splitlines()[0])
    vmap: argument 0 is a list of 2 items and this call holds only arrays and numbers.
"""

from __future__ import annotations

from typing import Any

from ember.xcs.errors import TransformError
from ember.xcs.transforms.leaves import ARRAY, NUMBER, leaf_kind
from ember.xcs.transforms.splitting import field_axes_error, keyword_axis

__all__ = ["refuse_ambiguous"]


def refuse_ambiguous(args: tuple[Any, ...], kwargs: dict[str, Any], in_axes: Any,
                     transform: str) -> None:
    """Raise where ``jax.vmap`` and the batching rules would read this call differently.

    Args:
        args: positional arguments of a tensor-only call.
        kwargs: its keyword arguments (``jax.vmap`` maps them along axis 0).
        in_axes: the transform's ``in_axes``.
        transform: the transform's name for messages.

    Raises:
        TransformError: a mapped list or tuple, or a number or tuple field of a record
            (or keyword), naming it and the fixes for each meaning.
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        axes = in_axes + (None,) * (len(args) - len(in_axes))
    else:
        axes = (in_axes,) * len(args)
    for index, (value, axis) in enumerate(zip(args, axes)):
        _check(value, axis, f"argument {index}", "arg", transform)
    for name, value in kwargs.items():
        _check(value, keyword_axis(in_axes), name, "kwarg", transform)


def _check(value: Any, axis: Any, path: str, mode: str, transform: str) -> None:
    """``mode`` as in ``splitting._mapped_leaf``: ``"arg"``, ``"kwarg"`` or ``"field"``."""
    if axis is None:
        return
    if isinstance(axis, dict):  # per-field axes: the same reading on both paths
        if isinstance(value, dict):
            error = field_axes_error(value, axis, path, transform)
            if error is not None:
                raise error
            for key, item in value.items():
                _check(item, axis[key], f"{path}[{key!r}]", "field", transform)
        return
    if isinstance(axis, tuple | list):  # per-position axes: the same reading too
        if isinstance(value, list | tuple) and len(value) == len(axis):
            for index, (item, item_axis) in enumerate(zip(value, axis)):
                _check(item, item_axis, f"{path}[{index}]", mode, transform)
        return
    if isinstance(value, dict) and mode != "field":  # a record: its fields in turn
        for key, item in value.items():
            _check(item, axis, f"{path}[{key!r}]", "field", transform)
    elif isinstance(value, list | tuple) or (isinstance(value, dict) and value):
        raise _container_error(value, path, mode, transform)
    elif mode != "arg" and (leaf_kind(value) == NUMBER
                            or (leaf_kind(value) == ARRAY and not value.shape)):
        raise _scalar_error(value, path, mode, transform)


def _lead(value: Any, path: str, transform: str) -> str:
    what = f"a {type(value).__name__} of {len(value)} items" \
        if isinstance(value, list | tuple | dict) else f"a scalar ({value!r})"
    return (f"{transform}: {path} is {what} and this call holds only arrays and numbers.\n"
            f"Such a call follows jax.vmap, which maps every leaf of a mapped value along "
            f"its axis")


def _structure(value: Any) -> str:
    """The ``in_axes`` entry mapping every item of ``value`` along axis 0."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: 0" for key in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join("0" for _ in value) + "]"
    return "(" + ", ".join("0" for _ in value) + ("," if len(value) == 1 else "") + ")"


def _container_error(value: Any, path: str, mode: str, transform: str) -> TransformError:
    if isinstance(value, list) or mode == "arg":
        rules = "as the batch itself (item i is its element i)"
        meant = "To map over its items, stack them into one array with jnp.stack(...)"
    else:
        rules = "as one value given unchanged to every item"
        meant = _broadcast_fix(path, mode)
    entry = _structure(value)
    if transform != "vmap":
        structured = "pass its arrays as separate arguments"
    elif mode == "arg":
        structured = f"give in_axes its structure (the entry {entry} for {path})"
    elif mode == "kwarg":
        structured = f"pass it positionally with the in_axes entry {entry}"
    else:
        structured = f"give its record per-field axes (the entry {entry} for {path})"
    return TransformError(
        f"{_lead(value, path, transform)}; the batching rules read a {type(value).__name__} "
        f"{rules}, as they do when another argument is a string.\n{meant}; to map each of "
        f"its arrays as jax.vmap does, {structured}."
    )


def _scalar_error(value: Any, path: str, mode: str, transform: str) -> TransformError:
    return TransformError(
        f"{_lead(value, path, transform)}, and a scalar has no axis to map; the batching "
        f"rules give it unchanged to every item.\n"
        f"{_broadcast_fix(path, mode)}."
    )


def _broadcast_fix(path: str, mode: str) -> str:
    if mode == "kwarg":
        return (f"To give {path} to every item, bind it with functools.partial(f, "
                f"{path}=...) or pass it positionally with in_axes None")
    root, _, field = path.partition("[")
    return (f"To give {path} to every item, give its record per-field axes: an in_axes "
            f"entry {{{field.rstrip(']')}: None, ...}} for {root} (positional), the other "
            f"fields 0")
