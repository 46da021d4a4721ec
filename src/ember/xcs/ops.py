"""Ops: the callables XCS schedules as one unit each.

An op called outside a trace is an ordinary function call. Called under ``@jit`` it
returns a ``Lazy`` at once and its body runs on the engine as soon as its inputs exist.
Coroutine functions are ops too: outside a trace an ``@op async def`` stays what it is
(calling it gives a coroutine to ``await``); under a trace it runs on the engine's
event loop concurrently with other ops, without a thread each, and ``await`` on its
result inside ``@jit async def`` does not wait. An op with an ``async_fn`` twin runs
its synchronous body outside a trace and its async body on the engine's loop.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

from ember.xcs import op_runs
from ember.xcs.checks import check_op_settings
from ember.xcs.config import is_positive_int_or_none
from ember.xcs.engine.loop import shared_loop
from ember.xcs.engine.slots import call_limited
from ember.xcs.errors import XCSError
from ember.xcs.ir.render import shorten
from ember.xcs.reloading import follow_autoreload
from ember.xcs.tracing.context import _local as _context_local

__all__ = ["Op", "OpKind", "as_op", "is_op", "mark_orchestration", "mark_tensor", "op"]

OpKind = Literal["orchestration", "tensor"]

F = TypeVar("F", bound=Callable[..., Any])


class Op:
    """A callable that XCS treats as one schedulable node.

    Attributes:
        fn: the wrapped callable.
        name: display name in the IR and stats.
        effect: ``True`` keeps program order: the op runs eagerly, in order.
        max_concurrency: at most this many calls of ops sharing ``limit_key`` run at
            once, across all jitted calls in the process.
        limit_key: the group ``max_concurrency`` counts over (default: this op).
        kind: ``"orchestration"`` (LLM/tool/I/O) or ``"tensor"``.
        deterministic: the same arguments always give the same result (lets graph
            passes merge duplicates; never set it on sampling LLM calls).
        async_fn: an ``async def`` twin of a synchronous ``fn`` (same arguments, same
            result). Outside a trace the op calls ``fn``; under ``@jit`` the engine
            awaits ``async_fn`` on its event loop instead of holding a thread.

    ``cache``, ``version``, ``retries`` and ``timeout`` wrap ``fn`` (and ``async_fn``)
    in the policy layer of ``ember.xcs.policies`` (see ``op`` for their meaning).
    """

    # Facts found on first use, per process (a pickled op finds them again where it runs):
    # the return annotation, the module globals its body reads (tracing.holding), and
    # the type of its last result (the engine sets it).
    _annotated: Any = op_runs.UNRESOLVED
    globals_read: Any = op_runs.UNRESOLVED
    global_reader: Any = op_runs.UNRESOLVED  # (fn, the code it runs, or None): tracing.holding
    last_type: type | None = None

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        effect: bool = False,
        max_concurrency: int | None = None,
        limit_key: object = None,
        kind: OpKind = "orchestration",
        deterministic: bool = False,
        identity: object = None,
        async_fn: Callable[..., Any] | None = None,
        cache: Any = False,
        version: str | None = None,
        retries: Any = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            hint = ""
            if callable(getattr(fn, "invoke", None)):
                hint = (" It has an .invoke method (a LangChain Runnable?): wrap it with"
                        " ember.xcs.interop.invoke_op(obj).")
            raise XCSError(
                f"op() needs a callable, got {type(fn).__name__} {shorten(repr(fn), 80)}.{hint}"
            )
        check_op_settings(name, effect, deterministic, limit_key)
        if not is_positive_int_or_none(max_concurrency):
            raise XCSError(
                f"op(max_concurrency=...) must be a positive int or None, got {max_concurrency!r}."
            )
        if kind not in ("orchestration", "tensor"):
            raise XCSError(f"op(kind=...) must be 'orchestration' or 'tensor', got {kind!r}.")
        self.name = name or _display_name(fn)
        has_policies = (cache is not False or bool(version) or retries is not None
                        or timeout is not None)
        if has_policies:
            from ember.xcs.policies import with_policies

            fn, async_fn = with_policies(fn, async_fn, name=self.name, effect=effect,
                                         cache=cache, version=version, retries=retries,
                                         timeout=timeout)
        self.fn = fn
        self.effect = effect
        self.max_concurrency = max_concurrency
        self.limit_key = limit_key if limit_key is not None else self
        self.kind: OpKind = kind
        self.deterministic = deterministic
        self.identity = identity if identity is not None else self
        if async_fn is not None and not inspect.iscoroutinefunction(async_fn):
            raise XCSError(f"op(async_fn=...) must be an async def function, got {async_fn!r}.")
        self.async_fn = async_fn
        self.is_coroutine = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
        self._timing = op_runs.RunTiming()
        # Never inline a policy op: a run of cache hits is fast, but the next miss is a
        # model call, and a timeout or a retry backoff would hold the glue's thread.
        self._timing.never_inline = has_policies
        functools.update_wrapper(self, fn, updated=())

    # What inspect needs to see the op as the function it wraps: in particular
    # inspect.iscoroutinefunction(op) is True exactly for an ``async def`` body.
    @property
    def __code__(self) -> Any:
        return getattr(self.fn, "__code__", None)

    @property
    def __defaults__(self) -> Any:
        return getattr(self.fn, "__defaults__", None)

    @property
    def __kwdefaults__(self) -> Any:
        return getattr(self.fn, "__kwdefaults__", None)

    @property
    def _is_coroutine_marker(self) -> Any:
        return getattr(inspect, "_is_coroutine_mark", None) if self.is_coroutine else None

    @property
    def body(self) -> Callable[..., Any]:
        """The function given to ``op``, without the ``cache``/``retries``/``timeout``
        policies that ``fn`` (what the engine calls) runs it with."""
        bound = self.fn if isinstance(self.fn, types.MethodType) else None
        marked = getattr(bound.__func__ if bound else self.fn, "__xcs_policies__", None)
        if not isinstance(marked, tuple):
            return self.fn
        return types.MethodType(marked[1], bound.__self__) if bound else marked[1]

    @property
    def runs_inline(self) -> bool:
        """Whether the engine runs this op in the thread that readies it.

        An op whose runs take a few microseconds costs less to run in place than to
        hand to a worker thread. Inline once ``INLINE_AFTER`` runs were observed and
        their running average (weight 0.1 on the newest) is under ``INLINE_LIMIT``
        seconds; a run over ``SLOW_LIMIT`` (a network call, a cache miss) stops it until
        a hundred faster runs have passed (see ``RunTiming``); two such runs close
        together keep it stopped. The average tolerates a fast body now and then
        measured slow because threads competed for the GIL. Ops with policies (cache,
        retries, timeout) never run inline.
        """
        timing = self._timing
        return (
            not timing.never_inline
            and timing.slow == 0
            and timing.runs >= op_runs.INLINE_AFTER
            and timing.average < op_runs.INLINE_LIMIT
            and not self.is_coroutine
            and self.async_fn is None
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # Classes and module globals found here are not sent to a worker: a class may
        # not even load there (the op's results are not its business).
        for learned in ("_annotated", "globals_read", "global_reader", "last_type"):
            state.pop(learned, None)
        return state

    def result_type(self) -> type | None:
        """The class this op's results are known to have: the return annotation when it
        names a class, else the type of the last result (``None`` before the first)."""
        annotated = self._annotated
        if annotated is op_runs.UNRESOLVED:
            annotated = self._annotated = op_runs.return_class(self.fn)
        known = annotated if annotated is not None else self.last_type
        return op_runs.current_class(known) if known is not None else None

    def observe(self, seconds: float) -> None:
        """Record how long one run of the body took (the engine calls this, from any
        thread; the lock keeps concurrent updates from being lost)."""
        timing = self._timing
        with op_runs.timing_lock:
            if seconds >= op_runs.SLOW_LIMIT:
                timing.slow += op_runs.FAST_RUNS_AFTER_SLOW
            elif timing.slow:
                timing.slow -= 1
            timing.runs += 1
            timing.average += (seconds - timing.average) * 0.1

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        handler = _context_local.trace
        if handler is None:
            if self.max_concurrency is not None:  # the cap holds outside a trace too
                return call_limited(self, args, kwargs)
            return self.fn(*args, **kwargs)  # a coroutine for an async def, as in plain Python
        return handler.call_op(self, args, kwargs)

    @staticmethod
    async def finished(value: Any, error: BaseException | None = None) -> Any:
        """What calling an ``async def`` op gives once it has run (eagerly): a coroutine."""
        if error is not None:
            raise error
        return value

    def invoke(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the body to completion now, with concrete arguments, and return its value.

        A coroutine body runs on the engine's event loop while this thread waits.
        """
        if self.is_coroutine:
            return shared_loop().run_coroutine(self.fn(*args, **kwargs))
        return self.fn(*args, **kwargs)

    def run(self, /, *args: Any, **kwargs: Any) -> Any:
        """Run the body now with concrete ``args``/``kwargs`` (what a worker calls)."""
        return self.invoke(args, kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        bound = Op(
            types.MethodType(self.fn, instance), name=self.name, effect=self.effect,
            max_concurrency=self.max_concurrency, limit_key=self.limit_key, kind=self.kind,
            deterministic=self.deterministic, identity=(self.identity, id(instance)),
            async_fn=(types.MethodType(self.async_fn, instance)
                      if self.async_fn is not None else None),
        )
        bound._timing = self._timing  # every binding of a method op shares its run timing
        return bound

    def __repr__(self) -> str:
        return f"<xcs op {self.name}>"


def _display_name(fn: Callable[..., Any]) -> str:
    if isinstance(fn, functools.partial):
        return _display_name(fn.func)
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


@overload
def op(fn: F, /) -> F: ...


@overload
def op(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    effect: bool = False,
    max_concurrency: int | None = None,
    limit_key: object = None,
    deterministic: bool = False,
    async_fn: Callable[..., Any] | None = None,
    cache: Any = False,
    version: str | None = None,
    retries: Any = None,
    timeout: float | None = None,
) -> Callable[[F], F]: ...


def op(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    effect: bool = False,
    max_concurrency: int | None = None,
    limit_key: object = None,
    deterministic: bool = False,
    async_fn: Callable[..., Any] | None = None,
    cache: Any = False,
    version: str | None = None,
    retries: Any = None,
    timeout: float | None = None,
) -> Any:
    """Mark a callable as an op: under ``@jit`` its calls run concurrently.

    Works as ``@op``, ``@op(name=..., effect=...)`` or ``op(callable)``.

    Args:
        fn: the callable (a function, a coroutine function, any callable object).
        name: display name in the IR (default: the function's name).
        effect: run eagerly and in program order (for writes, payments, ...).
        max_concurrency: process-wide cap on concurrent calls of this op.
        limit_key: share the ``max_concurrency`` cap with other ops using the same key.
        deterministic: same arguments give the same result (enables duplicate merging).
        async_fn: an ``async def`` twin of a synchronous ``fn``, awaited on the engine's
            event loop under ``@jit`` (no thread per call).
        cache: keep results in the persistent result cache (``ember.xcs.cache``):
            ``True`` (the calling function's ``Config(result_cache=...)``, else the
            default file), a path or store (always that one), ``None`` (only while a
            result cache is active; what model calls use), ``False`` (never, default).
        version: the cache identity's version; defaults to a fingerprint of the code.
        retries: extra attempts when the body raises an ``Exception`` other than
            ``ConfigError``/``UncacheableError`` (an int), or an ``ember.models.RetryPolicy``.
        timeout: seconds one attempt may take before ``XCSTimeoutError`` (a
            ``TimeoutError`` the body raises itself stays the body's error).

    Returns:
        An ``Op`` (or a decorator producing one).

    Example:
        >>> @op
        ... def shout(text):
        ...     return text.upper()
        >>> shout("hi")
        'HI'
    """

    def wrap(target: Any) -> Any:
        if isinstance(target, Op):
            return target
        follow_autoreload(Op)  # %autoreload updates it in place, as a function
        if isinstance(target, staticmethod | classmethod):  # @op over either: binds as it
            return type(target)(wrap(target.__func__))
        return Op(
            target, name=name, effect=effect, max_concurrency=max_concurrency,
            limit_key=limit_key, deterministic=deterministic, async_fn=async_fn,
            cache=cache, version=version, retries=retries, timeout=timeout,
        )

    if fn is not None:
        return wrap(fn)
    return wrap


def as_op(fn: Callable[..., Any]) -> Op:
    """``fn`` as an ``Op`` (unchanged when it already is one)."""
    return fn if isinstance(fn, Op) else Op(fn)


def is_op(value: object) -> bool:
    """Whether ``value`` is an op (an ``Op`` or a leaf ``Operator``)."""
    return isinstance(value, Op) or bool(getattr(value, "__xcs_op__", False))


def mark_orchestration(fn: F) -> F:
    """Mark ``fn`` as orchestration (LLM, tool, I/O): an op the engine runs concurrently.

    Example:
        >>> @mark_orchestration
        ... def call_model(prompt):
        ...     return prompt[::-1]
        >>> call_model("abc")
        'cba'
    """
    return Op(fn, kind="orchestration")  # type: ignore[return-value]  # typed as fn for users


def mark_tensor(fn: F) -> F:
    """Mark ``fn`` as tensor code: one node of kind ``tensor`` under ``@jit``.

    Example:
        >>> @mark_tensor
        ... def double(x):
        ...     return x * 2
        >>> double(3)
        6
    """
    return Op(fn, kind="tensor")  # type: ignore[return-value]  # typed as fn for users
