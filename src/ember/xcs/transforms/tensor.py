"""``jit``'s tensor fast path: ``jax.jit`` for a function until it reaches an op.

A call is *tensor-only* when its array leaves are JAX/NumPy arrays (other leaves are
numbers, or hashable atoms such as strings) and tracing it with JAX never reaches an
op. ``TensorDispatch`` first checks the leaves (``leaves``: cheap, no JAX import), then
lets JAX trace with a ``TensorProbe`` installed as the current op handler (``probes``):
an op reached while JAX traces raises ``OpReached``, which aborts the JAX trace
*before* the op runs, and the function switches to orchestration mode for good.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from ember.xcs import hooks
from ember.xcs.api.records import Fallback, FunctionStats
from ember.xcs.hooks import HookSource
from ember.xcs.tracing.frames import rejection_site
from ember.xcs.transforms.leaves import (
    ARRAY,
    ATOM,
    NUMBER,
    OTHER,
    TYPE_KINDS,
    argument_kind,
    jax_or_none,
)
from ember.xcs.transforms.probes import OpReached, op_in_code, probed

__all__ = ["TensorDispatch", "TensorOwner", "TensorPath", "tensor_path"]


class TensorOwner(Protocol):
    """What the fast path uses of the jitted function it serves (``api.jit.JitFunction``).

    A protocol, so that this module sits below ``api.jit`` rather than beside it.
    """

    _tensor: TensorPath | None
    _xcs_stats: FunctionStats
    _name: str

    @property
    def _config(self) -> HookSource:
        """Its configuration (the per-function hooks)."""

    def _traced_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one call on the XCS tracer."""


TensorPath = Callable[[TensorOwner, tuple[Any, ...], dict[str, Any]], Any]

_clock = time.perf_counter


class TensorDispatch:
    """The tensor fast path of one ``JitFunction``: ``jax.jit`` until an op is reached.

    Each call checks the argument leaves. A call with no array leaf, or with a leaf JAX
    cannot take, runs through the XCS tracer; if that happens before any call ran as
    tensor code, the function is orchestration for good (``owner._tensor`` is cleared,
    so later calls pay nothing). Array calls run through ``jax.jit``; numbers and
    strings become static arguments only if JAX needs them concrete. When tracing
    reaches an op, or JAX rejects the code as not traceable, the function switches to
    orchestration mode for good and the call runs on the XCS tracer, so results are
    those of plain Python.

    Args:
        fn: the function being jitted.
    """

    __slots__ = ("_compiled", "_fn", "_scanned", "_static_numbers", "_succeeded")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self._compiled: dict[tuple[Any, ...], Callable[..., Any]] = {}
        self._static_numbers = False
        self._succeeded = False
        self._scanned = False  # whether op_in_code looked at fn (on its first array call)

    def dispatch(self, owner: TensorOwner, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one call of ``owner``: through ``jax.jit`` or, if not tensor, its tracer."""
        key = self._static_key(args, kwargs)
        if key is None:
            if not self._succeeded:
                owner._tensor = None
            return owner._traced_call(args, kwargs)
        if not self._scanned:
            self._scanned = True
            named = op_in_code(self._fn)  # JAX's trace would run the glue before it twice
            if named is not None:
                return self._switch(owner, named, args, kwargs)
        compiled = self._compiled_for(key)
        stats = owner._xcs_stats
        started = _clock()
        try:
            if owner._config.hooks or hooks.registered_hooks():
                result = _hooked(owner, compiled, args, kwargs)
            else:
                result = compiled(*args, **kwargs)
        except BaseException as error:
            return self._failed(owner, error, args, kwargs)
        if not self._succeeded:
            self._succeeded = True
            stats.mode = "tensor"
        types = tuple(map(type, args))
        if not kwargs and all(TYPE_KINDS.get(t, OTHER) != OTHER for t in types):
            owner._tensor = self._fast_path(types, compiled, stats)
        stats.calls += 1
        stats.total_time += _clock() - started
        return result

    def _fast_path(self, types: tuple[type, ...], compiled: Callable[..., Any],
                   stats: FunctionStats) -> TensorPath:
        """A path for calls whose argument types equal ``types``: their kinds follow from
        the types alone, so the leaf checks and the cache lookup are skipped."""
        slow = self.dispatch
        failed = self._failed
        registered = hooks.registered_hooks
        single = types[0] if len(types) == 1 else None  # one argument: the common case

        def fast(owner: TensorOwner, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if kwargs or (
                len(args) != 1 or type(args[0]) is not single if single is not None
                else tuple(map(type, args)) != types
            ):
                return slow(owner, args, kwargs)
            started = _clock()
            try:
                if owner._config.hooks or registered():
                    result = _hooked(owner, compiled, args, kwargs)
                else:
                    result = compiled(*args)
            except BaseException as error:
                return failed(owner, error, args, kwargs)
            # Without the lock: neither update can be interrupted by another thread
            # under the GIL (no call or backward jump between load and store), and the
            # lock would cost a third of this path.
            stats.calls += 1
            stats.total_time += _clock() - started
            return result

        return fast

    def _failed(self, owner: TensorOwner, error: BaseException, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        """Handle a failed tensor call: switch modes, retry with static numbers, or run
        the call on the tracer (so that the error raised is the plain-Python one)."""
        if isinstance(error, OpReached):
            return self._switch(owner, error.fallback(), args, kwargs)
        if not isinstance(error, Exception):
            raise error
        jax = sys.modules["jax"]
        if not isinstance(error, jax.errors.JAXTypeError):
            return owner._traced_call(args, kwargs)  # possibly an artefact of tracing
        if not self._static_numbers and _has_numbers(args, kwargs):
            self._static_numbers = True  # JAX needed concrete numbers: retry with them
            return self.dispatch(owner, args, kwargs)
        reason = f"switched to orchestration mode: JAX could not trace it ({type(error).__name__})"
        site = rejection_site(error, None)  # the user's line JAX could not trace
        return self._switch(owner, Fallback(reason, site.location if site else None), args,
                            kwargs)

    def _switch(self, owner: TensorOwner, fallback: Fallback, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
        owner._tensor = None
        stats = owner._xcs_stats
        with stats.lock:
            stats.mode = "orchestration"
            stats.fallbacks.append(fallback)
        return owner._traced_call(args, kwargs)

    def _static_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        """Which arguments are static (a cache key), or ``None`` when this is no tensor call."""
        arrays = 0
        static: list[Any] = []
        static_numbers = self._static_numbers
        for index, value in enumerate(args):
            kind = argument_kind(value)
            if kind == ARRAY:
                arrays += 1
            elif kind == ATOM or (kind == NUMBER and static_numbers):
                static.append(index)
            elif kind == OTHER:
                return None
        for name, value in kwargs.items():
            kind = argument_kind(value)
            if kind == ARRAY:
                arrays += 1
            elif kind == ATOM or (kind == NUMBER and static_numbers):
                static.append(name)
            elif kind == OTHER:
                return None
        if not arrays or jax_or_none() is None:
            return None
        return tuple(static)

    def _compiled_for(self, key: tuple[Any, ...]) -> Callable[..., Any]:
        compiled = self._compiled.get(key)
        if compiled is None:
            jax = sys.modules["jax"]
            numbers = tuple(k for k in key if isinstance(k, int))
            names = tuple(k for k in key if isinstance(k, str))
            compiled = jax.jit(probed(self._fn), static_argnums=numbers, static_argnames=names)
            self._compiled[key] = compiled
        return compiled


def _hooked(owner: TensorOwner, compiled: Callable[..., Any], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
    """One compiled call between ``on_graph_start`` and ``on_graph_end`` (no node events:
    XLA runs it as one computation). An attempt that fails ends with its error; a call
    that then runs on the tracer sends its own events."""
    config, name = owner._config, owner._name
    hooks.emit(config, "on_graph_start", name)
    started = _clock()
    try:
        result = compiled(*args, **kwargs)
    except BaseException as error:
        hooks.emit(config, "on_graph_end", name, _clock() - started, error)
        raise
    hooks.emit(config, "on_graph_end", name, _clock() - started, None)
    return result


def tensor_path(fn: Callable[..., Any]) -> TensorPath:
    """The tensor fast path of a new ``JitFunction`` of ``fn`` (a bound method: cheap to call)."""
    return TensorDispatch(fn).dispatch


def _has_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(type(v) in (int, float, bool, complex) for v in (*args, *kwargs.values()))
