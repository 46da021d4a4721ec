"""Orchestration batching: split a batch into per-item calls, run them, combine results.

The rules (shared by ``vmap``, ``pmap``, ``mesh_sharded`` and ``scan``):

- **Splitting** (``splitting``). A positional argument with an axis must be a list, a
  tuple or an array (sliced along the axis), or a dict, which is a *record*: its list
  and array fields are mapped, every other field is broadcast. Keyword arguments are
  records too. Every mapped value must have the same length.
- **Running.** Each item becomes one op call. Outside a trace the calls run in a jitted
  runner (one engine node per item, honouring ``Config.max_workers`` and
  ``Config.executor``); inside a trace they join it.
- **Combining.** Per-item results are transposed along dicts and tuples (namedtuples
  too); every other value, lists included, is a leaf. Array leaves of one shape and
  dtype are stacked (the batch on ``out_axes``); other leaves are collected into a list.
  A dict result gives a dict with the same keys whatever its leaves are (items may
  insert them in any order, as in JAX; the first item's order is kept); a dict class
  that sets ``_xcs_batch_as_dict`` (the NON classes' ``NonResult``) is transposed the
  same way, into an object of its class built from that dict. An empty
  batch gives ``[]``: no item tells the structure, and none is guessed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ember.xcs.api.jit import JitFunction
from ember.xcs.config import Config
from ember.xcs.errors import TransformError
from ember.xcs.graphs.hidden import direct_symbols, hidden_symbol, rebind
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.transforms.leaves import ARRAY, leaf_kind, require_jax
from ember.xcs.transforms.progress import progress_config
from ember.xcs.transforms.splitting import Calls, positional_axes, split_batch

# ``split_batch`` and ``positional_axes`` (from ``splitting``) are batching rules: vmap,
# pmap, scan and mesh import them from here with the others.
__all__ = [
    "NOT_RECORDED",
    "Calls",
    "ItemOp",
    "adapt_inputs",
    "batch_runner",
    "combine",
    "item_op",
    "positional_axes",
    "record_whole_call",
    "run_batch",
    "split_batch",
    "synchronous_items",
]


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

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        if not args and set(kwargs) == {"inputs"}:
            return self.fn(kwargs["inputs"])
        return self.fn(*args, **kwargs)


def adapt_inputs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, accepting ``inputs=`` even when its one parameter has another name."""
    if _accepts_inputs_keyword(fn):
        return fn
    return _PositionalInputs(fn)


class ItemOp(Op):
    """The op a transform made of a plain function: inside ``autograph()`` the function
    may run in the block instead (see ``_recorded_item``); errors about it name the
    transform (``item_of``), since the user wrote no op."""

    item_of: str | None = None


def item_op(fn: Callable[..., Any], name: str, transform: str = "vmap") -> Op:
    """The op each item runs as (``fn`` itself when it already is an ``Op``)."""
    if isinstance(fn, Op):
        return fn
    made = ItemOp(adapt_inputs(fn), name=name)
    made.item_of = f"{transform}({name})"
    return made


def _recorded_item(op: Callable[..., Any], handler: Any) -> Callable[..., Any]:
    """What each item calls inside a trace: ``op``, or inside ``autograph()``, when the
    function reads a recorded value itself (a placeholder in its closure, defaults or
    globals), a call that hands that value to the item's node.

    As one op node per item, such a function would meet the symbol when the graph runs,
    with no value for it. When it reads the value directly, each item's node gets it as
    an argument and runs a copy of the function reading it (one node per item, as
    always); when it reads it through a helper, the function runs here instead, so its
    op calls record with the symbol as an argument (as a ``scan`` step does), and code
    that needs the value raises ``GraphError`` at its line.
    """
    holds = getattr(handler, "holds_symbols", None)
    if holds is None or type(op) is not ItemOp:
        return op
    target = op.fn.fn if isinstance(op.fn, _PositionalInputs) else op.fn
    found = direct_symbols(target, holds)
    if found is None:
        return op.fn if hidden_symbol(op.fn, holds) is not None else op
    if not found:
        return op
    node = ItemOp(_Rebound(target, [key for key, _ in found]), name=op.name)
    node.item_of = op.item_of
    values = tuple(value for _, value in found)
    return functools.partial(node, values)


class _Rebound:
    """An item's function reading the values given first where it read recorded ones
    (``graphs.hidden.rebind``); accepts ``inputs=`` as ``adapt_inputs`` does."""

    def __init__(self, target: Callable[..., Any], keys: list[Any]) -> None:
        self.target = target  # not ``fn``: the hidden-read search must not find it
        self.keys = keys

    def __call__(self, values: tuple[Any, ...], /, *args: Any, **kwargs: Any) -> Any:
        return adapt_inputs(rebind(self.target, self.keys, values))(*args, **kwargs)


def _issue(op: Callable[..., Any], calls: Calls) -> list[Any]:
    results = []
    for args, kwargs in calls:
        results.append(op(*args, **kwargs))
    return results


def batch_runner(name: str, config: Config) -> JitFunction:
    """The jitted runner that issues one op call per item (one per transformed function)."""
    return JitFunction(_issue, config, name=name)


def record_whole_call(fn: Callable[..., Any], name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any], reads: bool = False) -> Any:
    """Inside ``autograph()``, with recorded values among the arguments: one node for the
    whole transformed call (its batch has no length before ``execute``), else ``NOT_RECORDED``.

    The node runs ``fn(*args, **kwargs)`` when the graph executes, with real values. A
    function that reads recorded values itself gets them through the node too; with
    ``reads`` (``grad``, which traces its function at once) that alone makes the node.
    """
    handler = context.current_trace()
    holds_symbols = getattr(handler, "holds_symbols", None)
    if handler is None or holds_symbols is None:
        return NOT_RECORDED
    given = holds_symbols((args, kwargs))
    if not given and not reads:
        return NOT_RECORDED
    item = _item_function(fn)
    found = direct_symbols(item, holds_symbols) if item is not None else None
    if found:  # the function reads recorded values itself: the node gets them too
        node = Op(_WholeRebound(fn, [key for key, _ in found]), name=name)
        return handler.call_op(node, (tuple(value for _, value in found), *args), kwargs)
    if not given:
        return NOT_RECORDED
    return handler.call_op(Op(fn, name=name), args, kwargs)


def _item_function(whole: Any) -> Any:
    """The function a transform's whole call maps: ``scan``'s step (``whole`` is a
    ``functools.partial`` of ``scan``) or a ``vmap``-like object's ``_fn``."""
    if isinstance(whole, functools.partial):
        return whole.args[0] if whole.args else None
    return getattr(whole, "_fn", None) if hasattr(whole, "_init_args") else None


class _WholeRebound:
    """A transform's whole call whose function reads, instead of recorded values, the
    values given first (see ``record_whole_call``): the transform is made anew around
    a copy of the function (``graphs.hidden.rebind``)."""

    def __init__(self, whole: Any, keys: list[Any]) -> None:
        self.whole = whole  # not ``fn``: the hidden-read search must not find it
        self.keys = keys

    def __call__(self, values: tuple[Any, ...], /, *args: Any, **kwargs: Any) -> Any:
        whole = self.whole
        rebound = rebind(_item_function(whole), self.keys, values)
        if isinstance(whole, functools.partial):
            made = functools.partial(whole.func, rebound, *whole.args[1:], **whole.keywords)
        else:
            made = type(whole)(rebound, *whole._init_args()[1:])
        return made(*args, **kwargs)


@contextlib.contextmanager
def synchronous_items(handler: Any) -> Iterator[None]:
    """Issue a transform's items in the trace of a jitted ``async def`` as in a
    synchronous one: their ``async def`` ops give values, not coroutines to await.

    Outside ``@jit`` a transform runs its items in a synchronous trace of its own, so
    ``vmap(ask)(qs)`` with ``ask`` an ``async def`` op gives the answers; joining the
    caller's ``async def`` trace must not turn them into coroutines nobody awaits.
    The glue's own thread issues the items, so the flag is the call's alone meanwhile.
    """
    if not getattr(handler, "asynchronous", False):
        yield
        return
    handler.asynchronous = False
    try:
        yield
    finally:
        handler.asynchronous = True


class _NotRecorded:
    def __repr__(self) -> str:
        return "<not recorded>"


NOT_RECORDED: Any = _NotRecorded()
"""What ``record_whole_call`` returns when the call is not recorded as one node."""


def run_batch(op: Callable[..., Any], calls: Calls, runner: JitFunction,
              finish: Callable[[list[Any]], Any], unit: str = "item") -> Any:
    """Run ``op`` once per call and return ``finish(results)``.

    Inside an active trace (``@jit`` or ``autograph()``) the op calls join it and
    ``finish`` is lifted (so nothing waits); otherwise ``runner`` runs them
    concurrently on the engine.
    """
    handler = context.current_trace()
    if handler is not None:
        with synchronous_items(handler):
            results = _issue(_recorded_item(op, handler), calls)
        lift = getattr(handler, "lift", None)
        if lift is None:  # a recorder without lifting: finish when values are real
            return finish(results)
        return lift("combine", finish, (results,), {})
    with progress_config(runner.config, len(calls), runner._name, unit) as config:
        target = runner if config is runner.config else runner.with_config(config)
        return finish(target(op, calls))


# -- combining --------------------------------------------------------------------


def combine(outputs: Sequence[Any], transform: str = "vmap", out_axes: Any = 0) -> Any:
    """Per-item results transposed into one batched structure (see module docstring).

    Array leaves of equal shape and dtype are stacked into one array with the batch
    along ``out_axes`` (as JAX would); every other leaf is collected into a list.
    ``out_axes`` may also be, as in JAX, a prefix of the result's structure (a tuple
    or dict of axes) whose ``None`` entries mark results that are not batched: every
    item must give the same value there, which is given once.
    No outputs give ``[]``: without an item the structure is unknown.

    Raises:
        TransformError: items returned differently shaped dicts or tuples, ``out_axes``
            is out of range for a stacked array or does not fit the result, or items
            gave different values where ``out_axes`` is ``None``.
    """
    if not outputs:
        return []
    return _transpose(list(outputs), "result", transform, out_axes)


def _transpose(items: list[Any], path: str, transform: str, out_axes: Any) -> Any:
    first = items[0]
    if out_axes is None:
        return _unbatched(items, path, transform)
    if not isinstance(out_axes, int):
        _check_prefix(first, out_axes, path, transform)
    kind = type(first)
    if _as_dict(kind):
        keys = list(first)  # the result keeps the first item's order
        for index, item in enumerate(items):  # the same keys in any order, as in JAX
            if type(item) is not kind or item.keys() != first.keys():
                raise _mismatch(transform, path, index, first, item)
        fields = {k: _transpose([item[k] for item in items], f"{path}[{k!r}]", transform,
                                out_axes if isinstance(out_axes, int) else out_axes[k])
                  for k in keys}
        return fields if kind is dict else kind(fields)
    if isinstance(first, tuple):
        for index, item in enumerate(items):
            if type(item) is not kind or len(item) != len(first):
                raise _mismatch(transform, path, index, first, item)
        columns = [_transpose([item[i] for item in items], f"{path}[{i}]", transform,
                              out_axes if isinstance(out_axes, int) else out_axes[i])
                   for i in range(len(first))]
        return kind(*columns) if hasattr(first, "_fields") else kind(columns)
    if leaf_kind(first) == ARRAY and all(
        leaf_kind(item) == ARRAY and item.shape == first.shape and item.dtype == first.dtype
        for item in items
    ):
        return _stack(items, path, transform, out_axes)
    return items


def _as_dict(kind: type) -> bool:
    """Whether results of class ``kind`` are transposed as dicts (a dict class may ask:
    ``NonResult``), into a result of the same class."""
    return kind is dict or bool(getattr(kind, "_xcs_batch_as_dict", False))


def _check_prefix(first: Any, out_axes: Any, path: str, transform: str) -> None:
    """Raise unless the tuple or dict ``out_axes`` fits the result ``first`` (JAX's rule:
    a prefix of the result's structure)."""
    fits = (isinstance(out_axes, tuple) and isinstance(first, tuple)
            and len(out_axes) == len(first)) or (
        isinstance(out_axes, dict) and _as_dict(type(first)) and out_axes.keys() == first.keys())
    if not fits:
        raise TransformError(
            f"{transform}: out_axes {out_axes!r} does not fit {path}, which is "
            f"{_describe(first)}; give an int, None, or a tuple/dict of them shaped like the "
            "result."
        )


def _unbatched(items: list[Any], path: str, transform: str) -> Any:
    """The one value every item gave at ``path`` (``out_axes`` None there)."""
    first = items[0]
    for index, item in enumerate(items[1:], 1):
        if not _equal(first, item):
            raise TransformError(
                f"{transform}: out_axes is None for {path}, but item {index} gave another "
                f"value there than item 0 (the result depends on the batch). Give it an "
                "axis (0) to collect the items' values."
            )
    return first


def _equal(a: Any, b: Any) -> bool:
    if leaf_kind(a) == ARRAY or leaf_kind(b) == ARRAY:
        import numpy

        return bool(numpy.array_equal(numpy.asarray(a), numpy.asarray(b)))
    return bool(a == b)


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
    # Per-item results are wanted most often when items return dicts with different keys
    # (a result or an error); say how to get them, since the transposition is the contract.
    per_item = (
        "" if transform == "scan" else
        f" {transform} transposes dict and tuple results into one dict or tuple of lists "
        "(docs/transforms.md), so every item must return the same keys. For a list with one "
        "result per item, call the function in a list comprehension under @jit: "
        "jit(lambda items: [f(item) for item in items])(items); the ops the items call "
        "still run concurrently."
    )
    return TransformError(
        f"{transform}: items must return the same structure, but {path} of item 0 is "
        f"{_describe(first)} and of item {index} is {_describe(item)}.{per_item}"
    )
