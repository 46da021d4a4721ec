"""Orchestration batching: split a batch into per-item calls, run them, combine results.

The rules (shared by ``vmap``, ``pmap``, ``mesh_sharded`` and ``scan``):

- **Splitting.** A positional argument with an axis (``in_axes`` entry not ``None``)
  must be a list, a tuple or an array (sliced along the axis), or a dict, which is a
  *record*: its list and array fields are mapped, every other field is broadcast (the
  seed's ``inputs={"data": [...], "id": [...], "options": {...}}``). Keyword arguments
  are records too. An ``in_axes`` entry may be a dict or tuple (a prefix of the
  argument's structure) to give fields their own axes. Every mapped value must have the
  same length; ``TransformError`` names the fields and lengths otherwise.
- **Running.** Each item becomes one op call. Outside a trace the calls run in a jitted
  runner (one engine node per item, honouring ``Config.max_workers`` and
  ``Config.executor``); inside a trace they join it.
- **Combining.** Per-item results are transposed along dicts and tuples (namedtuples
  too); every other value, lists included, is a leaf, collected into a list. A dict
  result gives a dict of lists whatever its leaves are.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs.api.jit import JitFunction
from ember.xcs.config import Config
from ember.xcs.errors import TransformError
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.transforms.leaves import ARRAY, leaf_kind, require_jax
from ember.xcs.transforms.progress import progress_config

__all__ = [
    "Calls",
    "adapt_inputs",
    "batch_runner",
    "combine",
    "item_op",
    "run_batch",
    "split_batch",
]

Calls = list[tuple[tuple[Any, ...], dict[str, Any]]]


# -- splitting --------------------------------------------------------------------


class _Mapped:
    """A value to slice per item (list, tuple or array along ``axis``)."""

    __slots__ = ("axis", "path", "value")

    def __init__(self, value: Any, axis: int, path: str) -> None:
        self.value = value
        self.axis = axis
        self.path = path

    def length(self) -> int:
        if leaf_kind(self.value) == ARRAY:
            return int(self.value.shape[self.axis])
        return len(self.value)

    def item(self, index: int) -> Any:
        if leaf_kind(self.value) == ARRAY:
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


def _mapped_leaf(value: Any, axis: Any, path: str, transform: str, mode: str) -> Any:
    """``value`` with mapped leaves wrapped in ``_Mapped`` (a template for each item).

    ``mode`` is ``"arg"`` (a positional argument: must be mappable), ``"kwarg"`` (a
    keyword argument: a record or a batch; anything else is broadcast) or ``"field"``
    (a field of a record: lists and arrays are mapped, anything else is broadcast).
    """
    if axis is None:
        return value
    if isinstance(axis, dict):
        if not isinstance(value, dict):
            raise TransformError(
                f"{transform}: in_axes gives a dict for {path}, but the value is a "
                f"{type(value).__name__}."
            )
        if unknown := set(axis) - set(value):
            raise TransformError(
                f"{transform}: in_axes names field(s) {sorted(map(str, unknown))} that {path} "
                f"does not have (it has {sorted(map(str, value))})."
            )
        return _Struct(dict, {k: _mapped_leaf(v, axis.get(k), f"{path}[{k!r}]", transform,
                                              "field") for k, v in value.items()})
    if isinstance(axis, tuple | list):
        if not _is_sequence(value) or len(value) != len(axis):
            raise TransformError(
                f"{transform}: in_axes gives {len(axis)} axes for {path}, which is a "
                f"{type(value).__name__}{_length_note(value)}."
            )
        items = [_mapped_leaf(v, a, f"{path}[{i}]", transform, mode)
                 for i, (v, a) in enumerate(zip(value, axis))]
        return _Struct(tuple if isinstance(value, tuple) else list, items)
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TransformError(
            f"{transform}: in_axes entries must be int, None, or a dict/tuple of them; got "
            f"{axis!r} for {path}."
        )
    if leaf_kind(value) == ARRAY:
        rank = len(value.shape)
        if not -rank <= axis < rank:
            raise TransformError(
                f"{transform}: cannot map {path} over axis {axis}: it has rank {rank}."
            )
        return _Mapped(value, axis % rank, path)
    if isinstance(value, list) or (mode == "arg" and isinstance(value, tuple)):
        if axis not in (0, -1):
            raise TransformError(
                f"{transform}: {path} is a {type(value).__name__}; lists and tuples can only "
                f"be mapped over axis 0, not {axis}."
            )
        return _Mapped(value, 0, path)
    if isinstance(value, dict) and mode != "field":
        return _Struct(dict, {k: _mapped_leaf(v, axis, f"{path}[{k!r}]", transform, "field")
                              for k, v in value.items()})
    if mode == "arg":
        raise TransformError(
            f"{transform}: cannot map {path} ({type(value).__name__}) over axis {axis}: only "
            "lists, tuples, arrays and dicts of them can be mapped. Give it in_axes None to "
            "pass it unchanged to every item."
        )
    return value  # a record field (or keyword) that is not a batch: broadcast


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


def _positional_axes(in_axes: Any, count: int, transform: str) -> tuple[Any, ...]:
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        if len(in_axes) > count:
            raise TransformError(
                f"{transform}: in_axes has {len(in_axes)} entries but {count} positional "
                "argument(s) were passed; give at most one entry per positional argument."
            )
        return in_axes + (None,) * (count - len(in_axes))  # extra arguments: broadcast
    return (in_axes,) * count


def split_batch(args: tuple[Any, ...], kwargs: dict[str, Any], in_axes: Any,
                axis_size: int | None, transform: str) -> Calls:
    """The per-item ``(args, kwargs)`` of a batched call (see the module docstring).

    Args:
        args: positional arguments of the batched call.
        kwargs: keyword arguments (records: list/array fields mapped, others broadcast).
        in_axes: ``int``, ``None``, or a tuple with one entry per positional argument;
            an entry may be a dict/tuple prefix of the argument.
        axis_size: the batch size when nothing is mapped (or a check when something is).
        transform: the transform's name for messages.

    Returns:
        One ``(args, kwargs)`` pair per item, in order.

    Raises:
        TransformError: mapped values of different lengths, nothing to map and no
            ``axis_size``, or an argument that cannot be mapped.
    """
    axes = _positional_axes(in_axes, len(args), transform)
    arg_templates = [_mapped_leaf(a, ax, f"argument {i}", transform, "arg")
                     for i, (a, ax) in enumerate(zip(args, axes))]
    kwarg_templates = {k: _mapped_leaf(v, 0, k, transform, "kwarg") for k, v in kwargs.items()}
    mapped: list[_Mapped] = []
    for template in (*arg_templates, *kwarg_templates.values()):
        _collect(template, mapped)
    size = _common_length(mapped, axis_size, transform)
    return [
        (tuple(_instantiate(t, i) for t in arg_templates),
         {k: _instantiate(t, i) for k, t in kwarg_templates.items()})
        for i in range(size)
    ]


def _common_length(mapped: list[_Mapped], axis_size: int | None, transform: str) -> int:
    if not mapped:
        if axis_size is None:
            raise TransformError(
                f"{transform}: no argument is mapped (every in_axes entry is None and no "
                "keyword argument holds a list), so the batch size is unknown; pass "
                "axis_size=..."
            )
        return axis_size
    lengths = {m.path: m.length() for m in mapped}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{path} has {n}" for path, n in lengths.items())
        raise TransformError(
            f"{transform}: mapped inputs must all have the same length, but {listed}. "
            "Make them equal, or give the ones to broadcast in_axes None."
        )
    size = distinct.pop()
    if axis_size is not None and axis_size != size:
        raise TransformError(
            f"{transform}: axis_size={axis_size} but the mapped inputs have length {size}."
        )
    return size


# -- calling ----------------------------------------------------------------------


def _accepts_inputs_keyword(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any((p.name == "inputs" and p.kind is not p.POSITIONAL_ONLY)
               or p.kind is p.VAR_KEYWORD for p in parameters)


class _PositionalInputs:
    """Calls ``fn(inputs)`` when called as ``(inputs=...)`` (the seed's dict form with a
    function whose parameter has another name). Picklable for process executors."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and set(kwargs) == {"inputs"}:
            return self.fn(kwargs["inputs"])
        return self.fn(*args, **kwargs)


def adapt_inputs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, accepting ``inputs=`` even when its one parameter has another name."""
    if _accepts_inputs_keyword(fn):
        return fn
    return _PositionalInputs(fn)


def item_op(fn: Callable[..., Any], name: str) -> Op:
    """The op each item runs as (``fn`` itself when it already is an ``Op``)."""
    if isinstance(fn, Op):
        return fn
    return Op(adapt_inputs(fn), name=name)


def _issue(op: Callable[..., Any], calls: Calls) -> list[Any]:
    results = []
    for args, kwargs in calls:
        results.append(op(*args, **kwargs))
    return results


def batch_runner(name: str, config: Config) -> JitFunction:
    """The jitted runner that issues one op call per item (one per transformed function)."""
    return JitFunction(_issue, config, name=name)


def run_batch(op: Callable[..., Any], calls: Calls, runner: JitFunction,
              finish: Callable[[list[Any]], Any], unit: str = "item") -> Any:
    """Run ``op`` once per call and return ``finish(results)``.

    Inside an active trace the op calls join it and ``finish`` is lifted (so nothing
    waits); otherwise ``runner`` runs them concurrently on the engine.
    """
    handler = context.current_trace()
    if handler is not None:
        results = _issue(op, calls)
        lift = getattr(handler, "lift", None)
        if lift is None:  # a recorder without lifting: finish when values are real
            return finish(results)
        return lift("combine", finish, (results,), {})
    with progress_config(runner.config, len(calls), runner._name, unit) as config:
        target = runner if config is runner.config else runner.with_config(config)
        return finish(target(op, calls))


# -- combining --------------------------------------------------------------------


def combine(outputs: Sequence[Any], transform: str = "vmap", out_axes: int = 0) -> Any:
    """Per-item results transposed into one batched structure (see module docstring).

    Array leaves of equal shape and dtype are stacked into one array with the batch
    along ``out_axes`` (as JAX would); every other leaf is collected into a list.

    Raises:
        TransformError: items returned differently shaped dicts or tuples, or
            ``out_axes`` is out of range for a stacked array.
    """
    if not outputs:
        return []
    return _transpose(list(outputs), "result", transform, out_axes)


def _transpose(items: list[Any], path: str, transform: str, out_axes: int) -> Any:
    first = items[0]
    if type(first) is dict:
        keys = list(first)
        for index, item in enumerate(items):
            if type(item) is not dict or list(item) != keys:
                raise _mismatch(transform, path, index, first, item)
        return {k: _transpose([item[k] for item in items], f"{path}[{k!r}]", transform,
                              out_axes) for k in keys}
    if isinstance(first, tuple):
        kind = type(first)
        for index, item in enumerate(items):
            if type(item) is not kind or len(item) != len(first):
                raise _mismatch(transform, path, index, first, item)
        columns = [_transpose([item[i] for item in items], f"{path}[{i}]", transform, out_axes)
                   for i in range(len(first))]
        return kind(*columns) if hasattr(first, "_fields") else kind(columns)
    if leaf_kind(first) == ARRAY and all(
        leaf_kind(item) == ARRAY and item.shape == first.shape and item.dtype == first.dtype
        for item in items
    ):
        return _stack(items, path, transform, out_axes)
    return items


def _stack(items: list[Any], path: str, transform: str, out_axes: int) -> Any:
    rank = len(items[0].shape) + 1
    if not -rank <= out_axes < rank:
        raise TransformError(
            f"{transform}: out_axes={out_axes} is out of range for {path}, whose stacked "
            f"array has rank {rank}."
        )
    if type(items[0]).__module__.startswith("numpy"):
        import numpy

        return numpy.stack(items, axis=out_axes)
    return require_jax(transform).numpy.stack(items, axis=out_axes)


def _describe(value: Any) -> str:
    if type(value) is dict:
        return f"a dict with keys {list(value)}"
    if isinstance(value, tuple):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def _mismatch(transform: str, path: str, index: int, first: Any, item: Any) -> TransformError:
    return TransformError(
        f"{transform}: items must return the same structure, but {path} of item 0 is "
        f"{_describe(first)} and of item {index} is {_describe(item)}."
    )
