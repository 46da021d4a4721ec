"""``vmap``: map a function over a batch; JAX for tensors, the XCS engine for orchestration.

A call whose leaves are all arrays (and numbers) goes to ``jax.vmap`` with a
``TensorProbe`` installed; if JAX's trace reaches an op, this ``vmap`` switches to
orchestration mode for good and the batch runs item by item, concurrently, on the
engine (see ``batching`` for how batches are split and results combined).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from ember.xcs.api.records import Fallback
from ember.xcs.config import (
    Config,
    refuse_misplaced,
    require_config,
    settings_of,
    without_catchalls,
)
from ember.xcs.errors import TransformError
from ember.xcs.tracing import context
from ember.xcs.transforms.batching import (
    NOT_RECORDED,
    Calls,
    batch_runner,
    combine,
    item_op,
    positional_axes,
    record_whole_call,
    run_batch,
    split_batch,
)
from ember.xcs.transforms.given import values_of_ops
from ember.xcs.transforms.leaves import is_tensor_tree, require_jax
from ember.xcs.transforms.probes import OpReached, op_in_code, probed
from ember.xcs.transforms.readings import refuse_ambiguous

__all__ = ["BatchedFunction", "vmap"]


def _display_name(fn: Callable[..., Any]) -> str:
    if isinstance(fn, functools.partial):
        return _display_name(fn.func)
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def _keywords_last(fn: Callable[..., Any], count: int,
                   names: tuple[str, ...]) -> Callable[..., Any]:
    """``fn`` taking its keyword arguments ``names`` positionally, after ``count`` others."""
    def call(*values: Any) -> Any:
        return fn(*values[:count], **dict(zip(names, values[count:])))
    return call


def _normalize_axes(axes: Any) -> Any:
    return tuple(axes) if isinstance(axes, list) else axes


def _is_out_axes(axes: Any) -> bool:
    """Whether ``axes`` is an int, ``None``, or a tuple/list/dict of such (as in JAX)."""
    if axes is None or (isinstance(axes, int) and not isinstance(axes, bool)):
        return True
    if isinstance(axes, tuple | list):
        return all(_is_out_axes(a) for a in axes)
    return isinstance(axes, dict) and all(_is_out_axes(a) for a in axes.values())


class BatchedFunction:
    """A function mapped over a batch (what ``vmap`` returns; ``pmap`` builds on it).

    ``get_jit_stats(batched)`` reports the orchestration runs (one node per item), the
    tensor calls (``calls``, ``total_time_ms``, ``errors``, as for a tensor-mode ``jit``) and
    ``mode`` (``"tensor"`` once JAX ran it, ``"orchestration"`` once it met an op).
    """

    transform = "vmap"

    def __init__(self, fn: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
                 axis_size: int | None = None, config: Config | None = None,
                 axis_name: Any = None) -> None:
        if not callable(fn):
            raise TransformError(
                f"{self.transform}() needs a callable, got {type(fn).__name__} {fn!r}."
            )
        require_config(f"{self.transform}(config=...)", config)
        if axis_size is not None and (
            isinstance(axis_size, bool) or not isinstance(axis_size, int) or axis_size < 0
        ):
            raise TransformError(
                f"{self.transform}(axis_size=...) must be a non-negative int, got {axis_size!r}."
            )
        self._fn = fn
        self._in_axes = _normalize_axes(in_axes)
        self._out_axes = _normalize_axes(out_axes)
        self._axis_size = axis_size
        self._axis_name = axis_name
        self._config = config if config is not None else Config()
        self._name = f"{self.transform}({_display_name(fn)})"
        self._op = item_op(fn, _display_name(fn), self.transform)
        self._runner = batch_runner(self._name, self._config)
        self._xcs_stats = self._runner._xcs_stats
        # by positional count and, for a dict in_axes, the keywords' names
        self._tensor_fns: dict[tuple[int, tuple[str, ...]], Callable[..., Any]] = {}
        self._orchestration = False
        self._scanned = False  # whether op_in_code looked at fn (on its first array call)
        self._lock = threading.Lock()  # guards _tensor_fns
        try:
            functools.update_wrapper(self, fn, updated=())
        except (AttributeError, TypeError):
            pass

    @property
    def config(self) -> Config:
        """The configuration the orchestration runs use."""
        return self._config

    def __repr__(self) -> str:
        return f"<xcs {self._name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._init_args())

    def _init_args(self) -> tuple[Any, ...]:
        return (self._fn, self._in_axes, self._out_axes, self._axis_size, self._config,
                self._axis_name)

    def stats(self) -> dict[str, Any]:
        """Measured facts about this function's batches (see ``get_jit_stats``)."""
        return self._xcs_stats.snapshot()

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        recorded = record_whole_call(self, self._name, args, kwargs)
        if recorded is not NOT_RECORDED:
            return recorded
        args, kwargs = values_of_ops(args, kwargs)  # their types choose the path
        if not self._orchestration and is_tensor_tree((args, kwargs)):
            if not self._scanned:
                self._scanned = True
                named = op_in_code(self._fn)  # JAX's trace would run its glue twice
                if named is not None:
                    self._switch(named)
                    return self._orchestration_call(args, kwargs)
            started = time.perf_counter()
            try:
                require_jax(self.transform)
                self._refuse_ambiguous(args, kwargs)
                result = self._tensor_call(args, kwargs)
            except OpReached as reached:
                self._switch(reached)
            except Exception:
                self._xcs_stats.record_plain(time.perf_counter() - started, True)
                raise
            else:
                stats = self._xcs_stats
                stats.mode = "tensor"
                stats.record_plain(time.perf_counter() - started, False)  # as jit counts
                return result
        return self._orchestration_call(args, kwargs)

    def _switch(self, reached: OpReached | Fallback) -> None:
        self._orchestration = True
        stats = self._xcs_stats
        with stats.lock:
            stats.mode = "orchestration"
            stats.fallbacks.append(reached if isinstance(reached, Fallback)
                                   else reached.fallback())

    # -- tensors ------------------------------------------------------------------

    def _refuse_ambiguous(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Raise where ``jax.vmap`` would read this call unlike the batching rules."""
        refuse_ambiguous(args, kwargs, self._in_axes, self.transform)

    def _tensor_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # A dict as the whole in_axes names the fields of every argument, keyword ones
        # too (as on the orchestration path); jax.vmap maps keywords along axis 0, so
        # those are given to it positionally.
        names = tuple(kwargs) if isinstance(self._in_axes, dict) else ()
        key = (len(args), names)
        tensor_fn = self._tensor_fns.get(key)
        if tensor_fn is None:
            jax = require_jax(self.transform)
            target = _keywords_last(self._fn, len(args), names) if names else self._fn
            tensor_fn = jax.vmap(probed(target),
                                 in_axes=self._checked_axes(len(args) + len(names)),
                                 out_axes=self._out_axes, axis_size=self._axis_size,
                                 axis_name=self._axis_name)
            with self._lock:
                self._tensor_fns[key] = tensor_fn
        if names:
            return tensor_fn(*args, *kwargs.values())
        return tensor_fn(*args, **kwargs)

    def _checked_axes(self, count: int) -> Any:
        """``in_axes``, refused (as ``jax.vmap`` does) if it is a tuple without one entry
        per positional argument (the message is the orchestration path's); a dict is the
        entry of each of the ``count`` arguments."""
        if isinstance(self._in_axes, dict):
            return (self._in_axes,) * count
        if isinstance(self._in_axes, tuple):
            positional_axes(self._in_axes, count, self.transform)
        return self._in_axes

    # -- orchestration ------------------------------------------------------------

    def _orchestration_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            if not _is_out_axes(self._out_axes):
                raise TransformError(
                    f"{self.transform}: out_axes must be an int (where the batch axis goes "
                    "in stacked array results), None (a result that is not batched), or a "
                    f"tuple or dict of them shaped like the result, got {self._out_axes!r}."
                )
            calls = split_batch(args, kwargs, self._in_axes, self._axis_size, self.transform)
        except Exception:
            # A call refused before its items ran is still a call, and an error (as jit
            # counts a call whose arguments do not fit); one joining a trace is the
            # outer call's (see "Nesting").
            if context.current_trace() is None:
                self._xcs_stats.record_plain(time.perf_counter() - started, True)
            raise
        return self._run(calls)

    def _run(self, calls: Calls) -> Any:
        return run_batch(self._op, calls, self._runner, self._finish)

    def _finish(self, results: list[Any]) -> Any:
        return combine(results, self.transform, self._out_axes)


def vmap(fn: Callable[..., Any] | None = None, in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None, *positional: Any, axis_name: Any = None,
         config: Config | None = None, **settings: Any) -> Any:
    """Map ``fn`` over a batch: ``jax.vmap`` for arrays, concurrent op calls otherwise.

    Tensor calls (every leaf an array or a number) follow ``jax.vmap`` exactly, except
    that a value ``jax.vmap`` would read unlike the rules below (a mapped list or tuple,
    a record's number field) raises ``TransformError`` (see ``readings``). Other
    calls run ``fn`` once per item on the XCS engine, at most ``config.max_workers`` at
    a time, and give the same results and exceptions as a plain loop. Lists (and arrays)
    are mapped; a dict argument is a record whose list fields are mapped and whose other
    fields are broadcast; per-item dict/tuple results are transposed into a dict/tuple;
    array leaves are stacked (batch axis at ``out_axes``), other leaves become lists.
    An ``in_axes`` tuple has one entry per positional argument, as in ``jax.vmap``. If
    JAX's trace reaches an op, the function switches to orchestration mode.

    Without ``fn`` it is a decorator factory: ``@vmap(in_axes=(0, None))``.

    Args:
        fn: the per-item function (plain, an op, a jitted function or an Operator).
        in_axes: ``int``, ``None``, or a tuple with one entry per positional argument
            (entries may be dict/tuple prefixes of the argument), as in ``jax.vmap``.
        out_axes: where the batch axis goes in array outputs (an int for orchestration).
        axis_size: the batch size when no argument is mapped.
        axis_name: the mapped axis's name for collectives (``jax.lax.psum``) in tensor
            code, as in ``jax.vmap``.
        config: orchestration settings (``max_workers``, ``executor``, ``progress`` ...).

    Returns:
        A callable with ``fn``'s arguments, batched (or a decorator without ``fn``). An
        empty orchestration batch gives ``[]`` (no item tells the result's structure).

    Raises:
        TransformError: mapped inputs of different lengths (the message names the
            fields and lengths), an argument that cannot be mapped, a tensor call that
            ``jax.vmap`` would read unlike the batching rules, or arrays without JAX
            installed.
        ConfigError: a setting given directly (``max_workers=4``) or a ``Config``
            given positionally instead of ``config=Config(...)``.

    Example:
        >>> def process_item(item):
        ...     return {"processed": item["data"].upper(), "id": item["id"]}
        >>> vmap(process_item)(inputs={"data": ["a", "b"], "id": [1, 2],
        ...                            "options": {"format": "json"}})
        {'processed': ['A', 'B'], 'id': [1, 2]}
        >>> @vmap(in_axes=(0, None))
        ... def label(text, suffix):
        ...     return text + suffix
        >>> label(["a", "b"], "!")
        ['a!', 'b!']
    """
    refuse_misplaced("vmap()", _PARAMETERS, (in_axes, out_axes, axis_size), positional,
                     settings)
    if fn is None:
        return lambda target: BatchedFunction(target, in_axes, out_axes, axis_size, config,
                                              axis_name)
    return BatchedFunction(fn, in_axes, out_axes, axis_size, config, axis_name)


vmap.__signature__ = without_catchalls(vmap)  # type: ignore[attr-defined]
_PARAMETERS = settings_of(vmap)

