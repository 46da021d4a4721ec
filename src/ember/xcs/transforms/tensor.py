"""``jit``'s tensor fast path: ``jax.jit`` for a function while that keeps plain meaning.

A call runs under ``jax.jit`` (tensor mode) only when ``jax.jit`` gives what plain
Python gives:

- its array leaves are JAX arrays (other leaves are numbers, or hashable atoms such as
  strings). NumPy arrays keep NumPy's meaning in plain Python (float64 and int64, an
  ``IndexError`` for an index out of range, ``x += 1`` changing the caller's array),
  which ``jax.jit`` would not: such a call runs plainly;
- the function's code has no effect that ``jax.jit`` would run only while tracing
  (``purity``: a print, ``np.random``, a change of state from outside the call); and
  if it changes objects in place at all, no argument is a mutable container;
- tracing it with JAX never reaches an op.

``TensorDispatch`` checks the leaves on each call (``leaves``: cheap, no JAX import)
and the code once, then lets JAX trace with a ``TensorProbe`` installed as the current
op handler (``probes``): an op reached while JAX traces raises ``OpReached``, which
aborts the JAX trace *before* the op runs, and the function switches to orchestration
mode for good. Orchestration mode runs the function on the XCS tracer, with plain
Python's meaning.
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
    NUMPY,
    OTHER,
    TYPE_KINDS,
    argument_kind,
    jax_or_none,
)
from ember.xcs.transforms.probes import OpReached, op_in_code, probed
from ember.xcs.transforms.purity import purity

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
_PLAINLY = "switched to orchestration mode, where it runs as plain Python"


class TensorDispatch:
    """The tensor fast path of one ``JitFunction``: ``jax.jit`` while it keeps plain meaning.

    Each call checks the argument leaves. A call with no array leaf, with a leaf JAX
    cannot take, or with a NumPy array runs through the XCS tracer; if that happens
    before any call ran as tensor code, the function is orchestration for good
    (``owner._tensor`` is cleared, so later calls pay nothing). On its first array call
    the function's code is read (``op_in_code``, ``purity``): an op or an effect there
    means orchestration for good. Array calls run through ``jax.jit``; numbers and
    strings become static arguments only if JAX needs them concrete. When tracing
    reaches an op, or JAX rejects the code as not traceable, the function switches to
    orchestration mode for good and the call runs on the XCS tracer, so results are
    those of plain Python. A call that raises some other error runs again on the
    tracer, so that it raises plain Python's exception (the code has no effect XCS can
    see, so only time is lost).

    Args:
        fn: the function being jitted.
    """

    __slots__ = ("_changes", "_compiled", "_fn", "_scanned", "_static_numbers", "_succeeded")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self._compiled: dict[tuple[Any, ...], Callable[..., Any]] = {}
        self._static_numbers = False
        self._succeeded = False
        self._scanned = False  # whether fn's code was read (on its first array call)
        self._changes = False  # whether fn's code changes objects it did not build

    def dispatch(self, owner: TensorOwner, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one call of ``owner``: through ``jax.jit`` or, if not tensor, its tracer."""
        key = self._static_key(args, kwargs)
        if isinstance(key, tuple) and not self._scanned:
            # An op: JAX's trace would run the glue before it twice. An effect: jax.jit
            # would run it only while tracing. (Two first calls at once both read the
            # code, and find the same; _changes is set before _scanned.)
            found = op_in_code(self._fn) or self._effect()
            self._scanned = True
            if found is not None:
                return self._switch(owner, found, args, kwargs)
            if self._changes:
                key = self._static_key(args, kwargs)
        if not isinstance(key, tuple):
            if key is not None:  # arrays jax.jit would treat unlike plain Python
                if not self._succeeded:
                    return self._switch(owner, Fallback(f"{_PLAINLY}: {key}", None), args,
                                        kwargs)
                owner._xcs_stats.note_fallback(Fallback(f"a call ran as plain Python: {key}",
                                                        None))
            elif not self._succeeded:
                owner._tensor = None
            return owner._traced_call(args, kwargs)
        compiled = self._compiled_for(key)
        stats = owner._xcs_stats
        started = _clock()
        failure: BaseException | None = None
        try:
            if owner._config.hooks or hooks.registered_hooks():
                result = _hooked(owner, compiled, args, kwargs)
            else:
                result = compiled(*args, **kwargs)
        except BaseException as error:
            failure = error  # handled outside this block (see _failed)
        if failure is not None:
            return self._failed(owner, failure, args, kwargs)
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
            failure: BaseException | None = None
            try:
                if owner._config.hooks or registered():
                    result = _hooked(owner, compiled, args, kwargs)
                else:
                    result = compiled(*args)
            except BaseException as error:
                failure = error
            if failure is not None:
                return failed(owner, failure, args, kwargs)
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
        the call on the tracer (so that the error raised is the plain-Python one).

        Called outside the ``except`` block that caught ``error``: the call run again is
        not handling it, so an exception it raises has no ``__context__`` plain Python
        would not give it, and its ops' bodies do not see it in ``sys.exc_info()``."""
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

    def _effect(self) -> Fallback | None:
        """Why ``jax.jit`` of the function would not keep its plain meaning, if it would not."""
        found = purity(self._fn)
        self._changes = found.changes
        if found.fallback is None:
            return None
        return Fallback(f"{_PLAINLY}: {found.fallback.reason}", found.fallback.location)

    def _static_key(self, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> tuple[Any, ...] | str | None:
        """Which arguments are static (a cache key); ``None`` when this is no tensor call,
        or why array arguments must not go to ``jax.jit`` (a NumPy array; a mutable
        container the function may change)."""
        arrays = 0
        static: list[Any] = []
        static_numbers = self._static_numbers
        plain: str | None = None  # why the call must run plainly
        named: tuple[tuple[int | str, Any], ...] = (*enumerate(args), *kwargs.items())
        for where, value in named:
            kind = argument_kind(value, numpy=False)
            if kind == ARRAY:
                arrays += 1
                if self._changes and plain is None and _mutable(value):
                    plain = self._plain_argument(where, value, "changed")
            elif kind == ATOM or (kind == NUMBER and static_numbers):
                static.append(where)
            elif kind == NUMPY:
                plain = self._plain_argument(where, value, "numpy")
            elif kind == OTHER:
                return None
        if plain is not None:
            return plain
        if not arrays or jax_or_none() is None:
            return None
        return tuple(static)

    def _plain_argument(self, where: int | str, value: Any, why: str) -> str:
        code = getattr(self._fn, "__code__", None)
        name = where if isinstance(where, str) else (
            code.co_varnames[where] if code is not None and where < code.co_argcount else where)
        kind = type(value)
        what = f"argument {name!r} ({kind.__module__.partition('.')[0]}.{kind.__name__})"
        what = what.replace("(builtins.", "(")
        if why == "numpy":
            return (f"{what} holds NumPy data, which jax.jit would compute in float32/int32 "
                    "(and clamp out-of-range indices, and not change the caller's array in "
                    "place); pass jax.numpy arrays (jnp.asarray) to run it under jax.jit")
        return (f"{what} is mutable and its code changes objects in place, which jax.jit "
                "would not do to the caller's objects")

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
    heard, name = hooks.hooks_for(owner._config), owner._name  # one set for the call
    if heard is None:  # the last hook was unregistered meanwhile
        return compiled(*args, **kwargs)
    heard.emit("on_graph_start", name)
    started = _clock()
    try:
        result = compiled(*args, **kwargs)
    except BaseException as error:
        heard.emit("on_graph_end", name, _clock() - started, error)
        raise
    heard.emit("on_graph_end", name, _clock() - started, None)
    return result


def tensor_path(fn: Callable[..., Any]) -> TensorPath:
    """The tensor fast path of a new ``JitFunction`` of ``fn`` (a bound method: cheap to call)."""
    return TensorDispatch(fn).dispatch


def _mutable(value: Any) -> bool:
    """Whether an argument holds an object the function could change (a list, a dict,
    a pytree node), unlike arrays, numbers and tuples of them."""
    if type(value) in TYPE_KINDS:
        return False
    return not isinstance(value, tuple) or any(_mutable(item) for item in value)


def _has_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(type(v) in (int, float, bool, complex) for v in (*args, *kwargs.values()))
