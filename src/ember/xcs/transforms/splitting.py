"""Splitting a batched call into per-item calls, by ``in_axes``.

A positional argument with an axis (``in_axes`` entry not ``None``) must be a list, a
tuple or an array (sliced along the axis; NumPy arrays of strings or objects too), or a
dict, which is a *record*: its list and array fields are mapped, every other field
(a NumPy or JAX scalar too) is broadcast (the seed's
``inputs={"data": [...], "id": [...], "options": {...}}``).
Keyword arguments are records too. An ``in_axes`` entry may be a dict or tuple (a
prefix of the argument's structure, so a dict names every field) to give fields their
own axes; a dict as the whole ``in_axes`` (pyember's ``vmap(op, in_axes={"query": 0,
"context": None})(inputs=...)``) is the entry of every argument, keyword ones too.
Every mapped value
must have the same length; ``TransformError`` names the fields and lengths otherwise.

Each argument first becomes a *template*: the argument itself where it is broadcast,
``_Mapped`` where it is sliced, ``_Struct`` where some of its items are. Item ``i`` of
the batch is every template instantiated at ``i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ember.xcs.errors import TransformError
from ember.xcs.transforms.leaves import ARRAY, leaf_kind

__all__ = ["Calls", "field_axes_error", "keyword_axis", "positional_axes", "split_batch"]

Calls = list[tuple[tuple[Any, ...], dict[str, Any]]]
"""Per-item ``(args, kwargs)`` pairs, in order."""


class _Mapped:
    """A value to slice per item (list, tuple or array along ``axis``)."""

    __slots__ = ("array", "axis", "path", "value")

    def __init__(self, value: Any, axis: int, path: str) -> None:
        self.value = value
        self.axis = axis
        self.path = path
        self.array = _is_array(value)

    def length(self) -> int:
        if self.array:
            return int(self.value.shape[self.axis])
        return len(self.value)

    def item(self, index: int) -> Any:
        if self.array:
            if self.axis == 0:
                return self.value[index]
            return self.value.take(index, axis=self.axis)
        return self.value[index]


class _Struct:
    """A dict, list or tuple some of whose items are mapped (rebuilt for each item)."""

    __slots__ = ("items", "kind")

    def __init__(self, kind: type, items: dict[Any, Any] | list[Any]) -> None:
        self.kind = kind
        self.items = items


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _is_array(value: Any) -> bool:
    """A numeric array, or a NumPy array of strings or objects (a batch of them too)."""
    if leaf_kind(value) == ARRAY:
        return True
    return type(value).__module__.startswith("numpy") and hasattr(value, "shape") \
        and hasattr(value, "take")


def _mapped_leaf(value: Any, axis: Any, path: str, transform: str, mode: str) -> Any:
    """``value`` with mapped leaves wrapped in ``_Mapped`` (a template for each item).

    ``mode`` is ``"arg"`` (a positional argument: must be mappable), ``"kwarg"`` (a
    keyword argument: a record or a batch; anything else is broadcast) or ``"field"``
    (a field of a record: lists and arrays are mapped, anything else is broadcast). A
    NumPy or JAX scalar (an array of rank 0) is no batch: as a keyword or field it is
    broadcast, like the equal Python number.
    """
    if axis is None or value is None:  # None: an empty pytree in JAX, nothing to map
        return value
    if isinstance(axis, dict):
        return _mapped_fields(value, axis, path, transform)
    if isinstance(axis, tuple | list):
        return _mapped_positions(value, axis, path, transform, mode)
    _check_axis(axis, path, transform)
    if _is_array(value) and (value.shape or mode == "arg"):
        return _mapped_array(value, axis, path, transform)
    if isinstance(value, list) or (mode == "arg" and isinstance(value, tuple)):
        return _mapped_sequence(value, axis, path, transform)
    if isinstance(value, dict) and mode != "field":
        return _mapped_record(value, axis, path, transform)
    if mode == "arg":
        raise TransformError(
            f"{transform}: cannot map {path} ({type(value).__name__}) over axis {axis}: only "
            "lists, tuples, arrays and dicts of them can be mapped. Give it in_axes None to "
            "pass it unchanged to every item."
        )
    return value  # a record field (or keyword) that is not a batch, a scalar too: broadcast


def _mapped_fields(value: Any, axes: dict[Any, Any], path: str, transform: str) -> _Struct:
    """A dict whose fields have their own axes (``axes`` names each field, as in JAX)."""
    if not isinstance(value, dict):
        raise TransformError(
            f"{transform}: in_axes gives a dict for {path}, but the value is a "
            f"{type(value).__name__}."
        )
    error = field_axes_error(value, axes, path, transform)
    if error is not None:
        raise error
    return _Struct(dict, {k: _mapped_leaf(v, axes[k], f"{path}[{k!r}]", transform, "field")
                          for k, v in value.items()})


def field_axes_error(value: dict[Any, Any], axes: dict[Any, Any], path: str,
                     transform: str) -> TransformError | None:
    """Why the dict of axes ``axes`` does not fit the dict ``value``, if it does not.

    As in JAX (an ``in_axes`` dict is a prefix of the argument's structure), it names
    every field of ``value`` and no other, on the array path and the orchestration path
    alike.
    """
    if unknown := set(axes) - set(value):
        return TransformError(
            f"{transform}: in_axes names field(s) {sorted(map(str, unknown))} that {path} "
            f"does not have (it has {sorted(map(str, value))})."
        )
    if missing := [key for key in value if key not in axes]:
        entries = ", ".join(f"{key!r}: None" for key in missing)
        return TransformError(
            f"{transform}: the in_axes dict for {path} does not name field(s) "
            f"{sorted(map(str, missing))}; as in JAX, a dict of axes names every field of "
            f"the dict it maps. Add {entries} to give them unchanged to every item, or an "
            "axis (0) to map them."
        )
    return None


def _mapped_positions(value: Any, axes: Sequence[Any], path: str, transform: str,
                      mode: str) -> _Struct:
    """A list or tuple whose items have their own axes, one each."""
    if not _is_sequence(value) or len(value) != len(axes):
        raise TransformError(
            f"{transform}: in_axes gives {len(axes)} axes for {path}, which is a "
            f"{type(value).__name__}{_length_note(value)}."
        )
    items = [_mapped_leaf(v, a, f"{path}[{i}]", transform, mode)
             for i, (v, a) in enumerate(zip(value, axes))]
    return _Struct(tuple if isinstance(value, tuple) else list, items)


def _check_axis(axis: Any, path: str, transform: str) -> None:
    """Raise unless ``axis`` is an int (``bool`` is not an axis)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TransformError(
            f"{transform}: in_axes entries must be int, None, or a dict/tuple of them; got "
            f"{axis!r} for {path}."
        )


def _mapped_array(value: Any, axis: int, path: str, transform: str) -> _Mapped:
    """An array sliced along ``axis`` (negative axes count from the last)."""
    rank = len(value.shape)
    if not -rank <= axis < rank:
        raise TransformError(
            f"{transform}: cannot map {path} over axis {axis}: it has rank {rank}. Give it "
            "in_axes None to pass it unchanged to every item, or an axis it has."
        )
    return _Mapped(value, axis % rank, path)


def _mapped_sequence(value: list[Any] | tuple[Any, ...], axis: int, path: str,
                     transform: str) -> _Mapped:
    """A list or tuple taken item by item (its only axis: 0, or -1)."""
    if axis not in (0, -1):
        raise TransformError(
            f"{transform}: {path} is a {type(value).__name__}; lists and tuples can only "
            f"be mapped over axis 0, not {axis}."
        )
    return _Mapped(value, 0, path)


def _mapped_record(value: dict[Any, Any], axis: int, path: str, transform: str) -> _Struct:
    """A record: its list and array fields mapped over ``axis``, the rest broadcast."""
    return _Struct(dict, {k: _mapped_leaf(v, axis, f"{path}[{k!r}]", transform, "field")
                          for k, v in value.items()})


def _length_note(value: Any) -> str:
    return f" of length {len(value)}" if _is_sequence(value) else ""


def _collect(template: Any, found: list[_Mapped]) -> None:
    if isinstance(template, _Mapped):
        found.append(template)
    elif isinstance(template, _Struct):
        items = template.items
        for item in items.values() if isinstance(items, dict) else items:
            _collect(item, found)


def _instantiate(template: Any, index: int) -> Any:
    if isinstance(template, _Mapped):
        return template.item(index)
    if isinstance(template, _Struct):
        items = template.items
        if isinstance(items, dict):
            return {k: _instantiate(v, index) for k, v in items.items()}
        return template.kind(_instantiate(v, index) for v in items)
    return template  # broadcast: the very same object for every item


def positional_axes(in_axes: Any, count: int, transform: str) -> tuple[Any, ...]:
    """One ``in_axes`` entry per positional argument (an int or ``None`` applies to all).

    Raises:
        TransformError: an ``in_axes`` tuple whose length is not ``count``, as
            ``jax.vmap`` refuses it (a missing entry is not read as ``None``).
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        if len(in_axes) != count:
            raise TransformError(
                f"{transform}: in_axes needs one entry per positional argument, but got "
                f"len(in_axes)={len(in_axes)}, len(args)={count}; give each argument its "
                "entry (None for one given unchanged to every item: in_axes=(0, None))."
            )
        return in_axes
    return (in_axes,) * count


def keyword_axis(in_axes: Any) -> Any:
    """The ``in_axes`` entry of every keyword argument: axis 0 (keywords are records or
    batches, as in ``jax.vmap``), or a dict given as the whole ``in_axes``, which names
    the fields of every argument (pyember's per-field form)."""
    return in_axes if isinstance(in_axes, dict) else 0


def split_batch(args: tuple[Any, ...], kwargs: dict[str, Any], in_axes: Any,
                axis_size: int | None, transform: str, *,
                arg_names: Sequence[str] | None = None, size_name: str = "axis_size") -> Calls:
    """The per-item ``(args, kwargs)`` of a batched call (see the module docstring).

    Args:
        args: positional arguments of the batched call.
        kwargs: keyword arguments (records: list/array fields mapped, others broadcast).
        in_axes: ``int``, ``None``, or a tuple with one entry per positional argument;
            an entry may be a dict/tuple prefix of the argument.
        axis_size: the batch size when nothing is mapped (or a check when something is).
        transform: the transform's name for messages.
        arg_names: how messages name the positional arguments (default ``argument i``).
        size_name: the transform's parameter for ``axis_size``, for messages (``scan``
            calls it ``length``).

    Returns:
        One ``(args, kwargs)`` pair per item, in order.

    Raises:
        TransformError: mapped values of different lengths, nothing to map and no
            ``axis_size``, an ``in_axes`` tuple without one entry per positional
            argument, or an argument that cannot be mapped.
    """
    axes = positional_axes(in_axes, len(args), transform)
    names = list(arg_names or ()) + [f"argument {i}" for i in range(len(arg_names or ()),
                                                                     len(args))]
    arg_templates = [_mapped_leaf(a, ax, name, transform, "arg")
                     for a, ax, name in zip(args, axes, names)]
    kwarg_axis = keyword_axis(in_axes)
    kwarg_templates = {k: _mapped_leaf(v, kwarg_axis, k, transform, "kwarg")
                       for k, v in kwargs.items()}
    mapped: list[_Mapped] = []
    for template in (*arg_templates, *kwarg_templates.values()):
        _collect(template, mapped)
    if not mapped and axis_size is None and size_name == "axis_size":
        raise _nothing_mapped(args, axes, names, kwargs, kwarg_axis, transform)
    always_mapped = set() if isinstance(kwarg_axis, dict) else set(kwargs)
    size = _common_length(mapped, axis_size, transform, size_name, always_mapped)
    return [
        (tuple(_instantiate(t, i) for t in arg_templates),
         {k: _instantiate(t, i) for k, t in kwarg_templates.items()})
        for i in range(size)
    ]


def _common_length(mapped: list[_Mapped], axis_size: int | None, transform: str,
                   size_name: str, keywords: set[str]) -> int:
    if not mapped:
        if axis_size is None:  # scan: one input (xs), no in_axes
            raise TransformError(
                f"{transform}: xs holds no list, tuple or array to loop over, so the "
                f"number of steps is unknown; give xs as a list or array (dicts and "
                f"tuples are looped over leaf by leaf), or pass {size_name}=..."
            )
        return axis_size
    lengths = {m.path: m.length() for m in mapped}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{path} has {n}" for path, n in lengths.items())
        fix = ("Make them equal, or give the ones to broadcast in_axes None."
               if size_name == "axis_size" else "Give every leaf of xs the same length.")
        named = sorted({path.split("[")[0] for path in lengths} & keywords)
        if named:  # in_axes covers positional arguments only
            fix = (f"Make them equal. A keyword argument holding a list is always mapped: to "
                   f"give the whole {named[0]} to every item, bind it with functools.partial(fn, "
                   f"{named[0]}=...) or pass it positionally with in_axes None.")
        raise TransformError(
            f"{transform}: mapped inputs must all have the same length, but {listed}. {fix}"
        )
    size = distinct.pop()
    if axis_size is not None and axis_size != size:
        what = "the mapped inputs have" if size_name == "axis_size" else "xs has"
        raise TransformError(
            f"{transform}: {size_name}={axis_size} but {what} length {size}."
        )
    return size


def _nothing_mapped(args: tuple[Any, ...], axes: tuple[Any, ...], names: list[str],
                    kwargs: dict[str, Any], kwarg_axis: Any, transform: str) -> TransformError:
    """Why no argument gave a batch, argument by argument, and the fixes."""
    reasons = [_unmapped(value, axis, name) for value, axis, name in zip(args, axes, names)]
    reasons += [_unmapped(value, kwarg_axis, name) for name, value in kwargs.items()]
    listed = "; ".join(reasons) or "there are no arguments"
    sized = "" if transform == "mesh_sharded" else (  # the one without axis_size
        ", or pass axis_size=N to call the function N times with these arguments")
    return TransformError(
        f"{transform}: nothing to map, so the batch size is unknown: {listed}. Give the "
        f"batch as a list or array (a list or array field of a record){sized}."
    )


def _unmapped(value: Any, axis: Any, name: str) -> str:
    if axis is None:
        return f"{name} has in_axes None"
    if isinstance(axis, dict | tuple | list):
        return f"the in_axes entry {axis!r} maps no part of {name}"
    if value is None:
        return f"{name} is None (no batch in it: it is given to every item, as in JAX)"
    if isinstance(value, dict):
        return (f"{name} is a dict (a record), but none of its fields "
                f"({sorted(map(str, value))}) is a list or array")
    return f"{name} is a {type(value).__name__} (keyword arguments only map lists and arrays)"
