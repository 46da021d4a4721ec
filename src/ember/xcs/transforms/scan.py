"""``scan``: loop a function over a sequence with a carry; ``jax.lax.scan`` for tensors.

Tensor calls (carry and ``xs`` made of arrays and numbers, no list in ``xs``) go to
``jax.lax.scan``. When JAX's trace reaches an op or JAX cannot trace the step (as for
``jit``, from then on), or the data is not tensor data, the loop runs in Python: ``f``
runs in the calling thread, once per step, and the ops it calls are traced, so ops
that do not depend on the carry still run concurrently. Per-step outputs are collected
as in ``vmap`` (dicts and tuples transposed, other leaves in lists). Extra
``args``/``kwargs`` reach ``f`` on every step on both paths.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ember.xcs.api.jit import JitFunction
from ember.xcs.config import (
    Config,
    refuse_misplaced,
    require_config,
    settings_of,
    without_catchalls,
)
from ember.xcs.errors import TransformError
from ember.xcs.ops import is_op
from ember.xcs.tracing import context
from ember.xcs.tracing.lazy import is_lazy
from ember.xcs.transforms.batching import (
    NOT_RECORDED,
    combine,
    record_whole_call,
    split_batch,
    synchronous_items,
)
from ember.xcs.transforms.given import values_of_ops
from ember.xcs.transforms.leaves import count_arrays, is_tensor_tree, require_jax
from ember.xcs.transforms.probes import OpReached, op_in_code, probed

__all__ = ["ScannedFunction", "scan"]

_NO_INIT: Any = object()  # scan(f) without init: return the scanned function
# Step functions that called an op or that JAX could not trace, so they run as the
# Python loop (weak: bounded by the live functions); guarded by _reaches_ops_lock.
_reaches_ops: weakref.WeakSet[Any] = weakref.WeakSet()
_names_none: weakref.WeakSet[Any] = weakref.WeakSet()  # step functions whose code names no op
_reaches_ops_lock = threading.Lock()


def _loop(f: Callable[..., Any], init: Any, steps: Sequence[Any], order: Sequence[int],
          args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
    carry = init
    ys: list[Any] = [None] * len(steps)
    for index in order:
        carry, y = _step(f, carry, steps[index], args, kwargs)
        ys[index] = y
    return carry, ys


def _step(f: Callable[..., Any], carry: Any, x: Any, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> tuple[Any, Any]:
    out = f(carry, x, *args, **kwargs)
    handler = context.current_trace()
    if is_lazy(out):  # an op's value: whether it is a pair is the value's to say
        pair = _as_pair(handler.force(out, "scan step result"))  # type: ignore[union-attr]
        if is_op(f):  # the next step's op takes the carry as an edge of the graph
            return out[0], out[1]
        return pair  # plain code in f gets values, as the loop written by hand does
    elif _is_recorded(handler, out):  # autograph(): the pair exists only at execute
        pair = handler.lift("scan_pair", _as_pair, (out,), {})  # type: ignore[union-attr]
        return pair[0], pair[1]
    return _as_pair(out)


def _is_recorded(handler: Any, out: Any) -> bool:
    """Whether ``out`` is one recorded value of an ``autograph()`` (not a container)."""
    holds_symbols = getattr(handler, "holds_symbols", None)
    # type(...): isinstance() would ask a recorded value for its class.
    return (holds_symbols is not None and type(out) not in (tuple, list, dict)
            and holds_symbols(out))


def _as_pair(out: Any) -> tuple[Any, Any]:
    """``out`` as the step's ``(carry, y)``; ``TransformError`` if it is not a pair."""
    # issubclass(type(...)): isinstance() would ask a recorded value for its class.
    if not issubclass(type(out), tuple) or len(out) != 2:
        raise TransformError(
            f"scan: f must return a (carry, y) pair, got {type(out).__name__}; end it "
            "with `return carry, y`."
        )
    return out[0], out[1]


def _steps(xs: Any, length: int | None) -> list[Any]:
    if xs is None:
        if length is None:
            raise TransformError("scan: pass xs or length (with xs=None, length is required).")
        return [None] * length
    # xs is one pytree: a tuple (or dict) is looped over leaf by leaf, so the axes are
    # given as a prefix of its structure; a list is the sequence of steps itself.
    calls = split_batch((xs,), {}, (_leaf_axes(xs),), length, "scan", arg_names=("xs",),
                        size_name="length")
    return [call_args[0] for call_args, _ in calls]


def _leaf_axes(xs: Any) -> Any:
    """Axis 0 for every leaf of ``xs``, nested as its tuples and dicts are."""
    if type(xs) is tuple:
        return tuple(_leaf_axes(x) for x in xs)
    if type(xs) is dict:
        return {k: _leaf_axes(v) for k, v in xs.items()}
    return 0


def _finish(result: tuple[Any, list[Any]]) -> tuple[Any, Any]:
    carry, ys = result
    return carry, combine(ys, "scan")


class ScannedFunction:
    """``f`` scanned: called as ``fn(init, xs, *args, **kwargs) -> (carry, ys)``.

    What ``scan(f, length=..., reverse=..., unroll=...)`` returns (pyember's form).
    """

    def __init__(self, f: Callable[..., Any], length: int | None, reverse: bool,
                 unroll: int | bool, config: Config | None) -> None:
        _check_options(f, length, reverse, unroll, config)
        self._f = f
        self._length = length
        self._reverse = reverse
        self._unroll = unroll
        self._config = config
        try:
            functools.update_wrapper(self, f, updated=())
        except (AttributeError, TypeError):
            pass

    def __call__(self, /, init: Any, xs: Any = None, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        return _scan(self._f, init, xs, self._length, self._reverse, self._unroll, args,
                     kwargs, self._config)

    def __repr__(self) -> str:
        return f"<xcs scan({getattr(self._f, '__name__', self._f)!r})>"


def scan(f: Callable[..., Any] | None = None, init: Any = _NO_INIT, xs: Any = None,
         length: int | None = None, reverse: bool = False, *positional: Any,
         unroll: int | bool = 1, args: Sequence[Any] = (),
         kwargs: Mapping[str, Any] | None = None, config: Config | None = None,
         **settings: Any) -> Any:
    """Loop ``f(carry, x, *args, **kwargs) -> (carry, y)`` over ``xs``; ``jax.lax.scan`` semantics.

    Two forms: ``scan(f, init, xs)`` runs now (``jax.lax.scan``'s signature), and
    pyember's ``scan(f, length=None, reverse=False, unroll=1)`` (or ``@scan(...)``)
    returns a function called as ``fn(init, xs, *args, **kwargs)``.

    Args:
        f: the step function (omit it for a decorator).
        init: the initial carry (omit it to get the scanned function).
        xs: what to loop over (arrays are sliced along axis 0; lists item by item;
            dicts/tuples leaf by leaf), or ``None`` with ``length``.
        length: the number of steps (required when ``xs`` is ``None``).
        reverse: loop from the last element to the first (``ys`` keep ``xs``'s order).
        unroll: loop iterations per XLA loop step for tensors (``jax.lax.scan``).
        args: extra positional arguments passed to every step after ``x`` (a tuple
            or list).
        kwargs: extra keyword arguments passed to every step (a mapping of names).
        config: settings for the orchestration loop's jitted run.

    Returns:
        ``(final_carry, ys)`` (or the scanned function): ``ys`` stacked along axis 0
        for tensors; for orchestration, per-step outputs combined as in ``vmap``
        (arrays stacked, other leaves in lists; no steps give ``[]``).

    Raises:
        TransformError: ``f`` does not return a pair, ``xs``/``length`` disagree, a bad
            option (``args`` not a tuple or list, ``kwargs`` not a mapping...), or
            arrays without JAX installed.
        ConfigError: a setting given directly (``max_workers=4``) or a ``Config``
            given positionally instead of ``config=Config(...)``.

    Example:
        >>> def running_text(carry, word, sep):
        ...     text = carry + sep + word if carry else word
        ...     return text, len(text)
        >>> scan(running_text, "", ["a", "bb", "c"], args=(" ",))
        ('a bb c', [1, 4, 6])
        >>> scan(running_text)("", ["x", "y"], "-")
        ('x-y', [1, 3])
    """
    refuse_misplaced("scan()", _PARAMETERS, (length, reverse), positional, settings)
    _check_extras(args, kwargs)
    if f is None or init is _NO_INIT:
        if args or kwargs:
            raise TransformError("scan(f) without init returns a function; pass the extra "
                                 "arguments when calling it: scan(f)(init, xs, *args).")
        if f is None:
            return lambda target: ScannedFunction(target, length, reverse, unroll, config)
        return ScannedFunction(f, length, reverse, unroll, config)
    _check_options(f, length, reverse, unroll, config)
    return _scan(f, init, xs, length, reverse, unroll, tuple(args), dict(kwargs or {}), config)


scan.__signature__ = without_catchalls(scan)  # type: ignore[attr-defined]
_PARAMETERS = settings_of(scan)


def _check_extras(args: Any, kwargs: Any) -> None:
    """``args`` a tuple or list and ``kwargs`` a mapping with str keys (or ``None``):
    any other iterable would pass its keys or characters to every step."""
    if not isinstance(args, tuple | list):
        hint = ("; pass keyword arguments as kwargs={...}" if isinstance(args, Mapping)
                else f"; for one extra argument write args=({args!r},)")
        raise TransformError(f"scan(args=...) must be a tuple or list of extra positional "
                             f"arguments, got {type(args).__name__} {_short(args)}{hint}.")
    if kwargs is not None and (not isinstance(kwargs, Mapping)
                               or not all(isinstance(key, str) for key in kwargs)):
        what = (f"{type(kwargs).__name__} {_short(kwargs)}" if not isinstance(kwargs, Mapping)
                else f"a mapping with non-str keys {_short(kwargs)}")
        raise TransformError(f"scan(kwargs=...) must be a dict of extra keyword arguments "
                             f"(names to values), got {what}; pass positional extras as "
                             f"args=(...).")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_options(f: Any, length: Any, reverse: Any, unroll: Any, config: Any) -> None:
    if not callable(f):
        raise TransformError(f"scan() needs a callable, got {type(f).__name__} {f!r}.")
    require_config("scan(config=...)", config)
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                               or length < 0):
        raise TransformError(f"scan(length=...) must be a non-negative int, got {length!r}.")
    if not isinstance(reverse, bool):
        raise TransformError(f"scan(reverse=...) must be a bool, got {reverse!r}.")
    if not isinstance(unroll, bool | int) or (not isinstance(unroll, bool) and unroll < 1):
        raise TransformError(f"scan(unroll=...) must be a positive int or a bool, got "
                             f"{unroll!r}.")


def _scan(f: Callable[..., Any], init: Any, xs: Any, length: int | None, reverse: bool,
          unroll: int | bool, extra_args: tuple[Any, ...], extra_kwargs: dict[str, Any],
          config: Config | None) -> tuple[Any, Any]:
    whole = functools.partial(scan, f, length=length, reverse=reverse, unroll=unroll,
                              config=config)
    recorded = record_whole_call(whole, f"scan({getattr(f, '__name__', 'f')})", (init, xs),
                                 {"args": extra_args, "kwargs": extra_kwargs})
    if recorded is not NOT_RECORDED:  # autograph() with a recorded init/xs: one node
        return recorded[0], recorded[1]
    (init, xs, extra_args), extra_kwargs = values_of_ops((init, xs, extra_args), extra_kwargs)
    if _is_tensor_scan(f, init, xs, extra_args, extra_kwargs):
        jax = require_jax("scan")
        try:
            if not extra_args and not extra_kwargs:  # f itself: JAX's messages name it
                return jax.lax.scan(_tensor_body(f, False), init, xs, length=length,  # type: ignore[no-any-return]
                                    reverse=reverse, unroll=unroll)
            carry, ys = jax.lax.scan(_tensor_body(f, True), (init, extra_args, extra_kwargs),
                                     xs, length=length, reverse=reverse, unroll=unroll)
            return carry[0], ys
        except OpReached:
            _remember(f)
        except jax.errors.JAXTypeError:  # JAX cannot trace the step (`if x > 1:`): as
            _remember(f)                  # jit does, run the plain loop, from now on
    steps = _steps(xs, length)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    handler = context.current_trace()
    if handler is not None:  # join the outer trace
        with synchronous_items(handler):
            carry, ys = _loop(f, init, steps, order, extra_args, extra_kwargs)
        lift = getattr(handler, "lift", None)
        if lift is None:
            return carry, combine(ys, "scan")
        return carry, lift("combine", combine, (ys, "scan"), {})
    runner = JitFunction(_loop, config, name=f"scan({getattr(f, '__name__', 'f')})")
    return _finish(runner(f, init, steps, order, extra_args, extra_kwargs))


# One body per step function (and whether it takes extra arguments), so that repeated
# eager scans hand JAX the same function object and hit its trace cache. Bounded
# (least recently used first out); _bodies_lock guards it.
_BODIES_LIMIT = 256
_bodies: OrderedDict[Any, Callable[..., Any]] = OrderedDict()
_bodies_lock = threading.Lock()


def _tensor_body(f: Callable[..., Any], extras: bool) -> Callable[..., Any]:
    """``f`` as a ``jax.lax.scan`` body: ``f`` itself (probed) without extra arguments,
    else a body whose carry also holds them."""
    key = (f, extras)
    try:
        hash(key)
    except TypeError:  # unhashable callable: no caching, just a fresh body
        return _make_body(f, extras)
    with _bodies_lock:
        body = _bodies.get(key)
        if body is not None:
            _bodies.move_to_end(key)
            return body
    body = _make_body(f, extras)
    with _bodies_lock:
        _bodies[key] = body
        if len(_bodies) > _BODIES_LIMIT:
            _bodies.popitem(last=False)
    return body


def _make_body(f: Callable[..., Any], extras: bool) -> Callable[..., Any]:
    step = probed(f)  # carries f's name and signature for JAX's messages
    if not extras:
        return step

    def body(carry: Any, x: Any) -> Any:
        value, args, kwargs = carry
        new_value, y = step(value, x, *args, **kwargs)
        return (new_value, args, kwargs), y

    return body


def _is_tensor_scan(f: Callable[..., Any], init: Any, xs: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> bool:
    """Tensor data everywhere, arrays in ``xs`` (or in ``init`` when there is no ``xs``),
    and no list in ``xs``."""
    try:
        with _reaches_ops_lock:
            if f in _reaches_ops:
                return False
    except TypeError:  # not weakly referenceable: no memory, just try
        pass
    if count_arrays((init, args, kwargs)) is None:
        return False
    if not is_tensor_tree(init if xs is None else xs) or _holds_list(xs):
        return False
    return _names_no_op(f)


def _holds_list(xs: Any) -> bool:
    """Whether ``xs`` (or one of its tuples and dicts) holds a list: the steps themselves,
    item by item, which ``jax.lax.scan`` would read as a pytree (slicing each item)."""
    if isinstance(xs, list):
        return True
    if type(xs) is tuple:
        return any(_holds_list(x) for x in xs)
    if type(xs) is dict:
        return any(_holds_list(x) for x in xs.values())
    return False


def _names_no_op(f: Callable[..., Any]) -> bool:
    """Whether ``f``'s code names no op: JAX's trace would run the step's glue twice.
    Read once per step function (an op reached some other way is still met by the
    probe, which remembers the function too)."""
    try:
        with _reaches_ops_lock:
            if f in _names_none:
                return True
    except TypeError:  # not weakly referenceable: read it every time
        return op_in_code(f) is None
    if op_in_code(f) is not None:
        _remember(f)
        return False
    with _reaches_ops_lock:
        _names_none.add(f)
    return True


def _remember(f: Callable[..., Any]) -> None:
    try:
        with _reaches_ops_lock:
            _reaches_ops.add(f)
    except TypeError:
        pass
