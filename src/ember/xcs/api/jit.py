"""``jit``: run a function's independent ops concurrently, with plain-Python meaning.

A call of a jitted function runs the function's code (the *glue*), rewritten so that
the places where a lazy value could be observed are seen (``tracing.rewrite``), in
the calling thread under a ``Trace``. Op calls return ``Lazy`` values and start on the
engine as soon as their inputs exist; the glue only waits where it needs a real
value. At return the result is materialised, every op issued is awaited, and lazy
values the glue stored elsewhere are replaced by their values (``tracing.escapes``).
If an op failed, the failure plain Python would have met first is raised, with its own
type. If C code still rejected a lazy value (the last resort), the line becomes a
learned barrier and the function runs again from the top, reusing every op already
issued; the final fallback is a fully eager run, which always means what plain
Python means. ``async def`` functions are awaited the same way (``await f(x)``).
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ember.xcs import hooks
from ember.xcs.api import hosts
from ember.xcs.api.call import Call
from ember.xcs.api.classes import jitted_class
from ember.xcs.api.composing import Composes
from ember.xcs.api.explanation import explanation
from ember.xcs.api.hosts import GENERATOR, LOOP_THREAD, import_fallback, module_locks, run_plainly
from ember.xcs.api.nesting import call_within, timeout_within
from ember.xcs.api.records import Fallback, FunctionStats
from ember.xcs.api.stats import register
from ember.xcs.api.stepping import async_call
from ember.xcs.config import Config, refuse_misplaced, require_config, without_catchalls
from ember.xcs.engine.driver import default_engine
from ember.xcs.engine.state import Run
from ember.xcs.errors import ConfigError
from ember.xcs.reloading import follow_autoreload
from ember.xcs.tracing import context, operators, rewrite, runtime
from ember.xcs.tracing.protocols import calling_back
from ember.xcs.tracing.trace import Trace
from ember.xcs.tracing.wrappers import behind_cache

__all__ = ["JitFunction", "jit", "jit_disabled"]

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULT = Config()

# The tracing context's thread-local also holds the disable_structural_jit() depth, so
# that one attribute read answers "run plainly?" on every call.
_local = context._local
_SPARE_TRACES = 4  # unused traces kept per function (about one per thread calling it at once)
runtime.install()
operators.install()


def jit_disabled() -> bool:
    """Whether ``disable_structural_jit()`` is active in this thread."""
    return _local.disabled > 0


def _set_disabled(delta: int) -> None:
    _local.disabled += delta
    _local.plain = _local.disabled > 0 or _local.trace is not None


def _unrewritten(stats: FunctionStats, problem: str) -> None:
    stats.note_fallback(Fallback(f"runs without rewriting: {problem}; proxies and learned "
                                 "barriers keep it correct", None))


class JitFunction(Composes):
    """A jitted callable. Call it like the original; ask it ``stats()`` and ``explain()``.

    Works as a method too (it binds like a function) and composes with ``>>`` as what it
    wraps does. For an ``async def`` function the call returns a coroutine to ``await``.
    """

    _finalizing = staticmethod(sys.is_finalizing)  # a class attribute outlives module globals

    def __init__(self, fn: Callable[..., Any], config: Config | None = None,
                 name: str | None = None, stats: FunctionStats | None = None,
                 parallel_threshold: int | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"jit() needs a callable, got {type(fn).__name__} {fn!r}.")
        require_config("JitFunction(fn, config)", config)
        try:  # first, so that attributes copied from fn's __dict__ never shadow ours
            functools.update_wrapper(self, fn)
        except (AttributeError, TypeError):
            pass
        self._fn = fn
        self._config = config if config is not None else Config()
        self._own_config = self._config != _DEFAULT  # nested in a trace: kept (see __call__)
        self._name = name or _callable_name(fn)
        self._xcs_stats = stats if stats is not None else FunctionStats(self._name)
        self._parallel_threshold = parallel_threshold
        self._signature: inspect.Signature | bool | None = None
        # The function the trace runs: fn rewritten (tracing.rewrite), kept in step with fn.
        self._glue_fn = rewrite.Glue(fn, functools.partial(_unrewritten, self._xcs_stats)).current
        if behind_cache(fn):  # the cache runs its function as it is: its ops give values
            self._glue_fn = functools.partial(functools.partial, calling_back, fn)
        # Traces of finished calls that issued nothing, kept for the next calls: most
        # calls of a function that rarely reaches an op then cost no new Trace.
        self._spare_traces: list[Trace] = []
        self._is_async = inspect.iscoroutinefunction(fn)
        if self._is_async:  # asyncio.iscoroutinefunction (inspect's too on 3.12+) say True,
            import asyncio.coroutines  # as of fn: frameworks choose how to call by them

            self._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
            getattr(inspect, "markcoroutinefunction", id)(self)
            if sys.version_info < (3, 12):  # 3.11's inspect reads a function-like's code flags
                _function_like(self, fn)
        self._is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
        if self._is_generator:  # a generator function still, to inspect (pytest's fixtures)
            _function_like(self, fn)
        from ember.xcs.transforms.tensor import TensorPath, tensor_path

        # Tensor-only calls go to jax.jit until the function proves to be orchestration.
        self._tensor: TensorPath | None = (
            None if self._is_async or self._is_generator else tensor_path(fn))
        register(self)
        follow_autoreload(JitFunction)  # %autoreload updates it in place, as a function

    @property
    def config(self) -> Config:
        """The configuration this function runs with."""
        return self._config

    def with_config(self, config: Config | None = None, **changes: Any) -> JitFunction:
        """The same function (sharing stats and learned barriers) with other settings."""
        require_config("with_config(config=...)", config)
        base = config if config is not None else self._config
        return JitFunction(self._fn, base.replace(**changes) if changes else base,
                           self._name, self._xcs_stats, self._parallel_threshold)

    def stats(self) -> dict[str, Any]:
        """Measured facts about this function (see ``get_jit_stats``)."""
        return self._xcs_stats.snapshot(cache=self._config.cache)

    def explain(self, /, *args: Any, **kwargs: Any) -> str:
        """``explain`` for this function (runs it when arguments are given)."""
        if args or kwargs:
            self(*args, **kwargs)
        return explanation(self._xcs_stats, self._config, self._fn)

    if not TYPE_CHECKING:  # (hidden from mypy, which would then accept any attribute)
        def __getattr__(self, name: str) -> Any:
            """A public attribute of the jitted callable that its ``__dict__`` (copied
            here) does not hold: an ``lru_cache``'s ``cache_info()`` and ``cache_clear()``,
            a ``singledispatch`` function's ``register``..."""
            fn = self.__dict__.get("_fn")
            if fn is not None and not name.startswith("_"):
                try:
                    return getattr(fn, name)
                except AttributeError:
                    pass
            raise AttributeError(f"'JitFunction' object has no attribute {name!r}",
                                 name=name, obj=self)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def __repr__(self) -> str:
        return f"<jit {self._name}>"

    def __reduce__(self) -> Any:
        """Pickled as a function is: by reference when its module holds it under its
        name (so process pools and ``executor="process"`` can ship it), else as a new
        jit of the pickled function with this configuration."""
        found: Any = sys.modules.get(getattr(self, "__module__", None) or "")
        qualname = getattr(self, "__qualname__", None)
        for part in (qualname or "<none>").split("."):
            found = getattr(found, part, None)
        if found is self:
            return qualname
        return (JitFunction, (self._fn, self._config, self._name))

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        if self._finalizing():  # a __del__ at exit: this module's globals may be gone
            return self._fn(*args, **kwargs)
        tensor = self._tensor  # first: the tensor path's overhead is counted against jax.jit
        if tensor is not None and not _local.plain:
            return tensor(self, args, kwargs)
        if _local.plain:
            trace = _local.trace
            if trace is not None and isinstance(trace, Trace):
                if self._own_config:  # its own settings apply: its own call, now
                    args, kwargs = trace.force_tree(
                        (args, kwargs), f"jitted call with its own Config: {self._name}")
                    return self._async_call(args, kwargs) if self._is_async else \
                        call_within(trace.run, lambda: self._traced_call(args, kwargs))
                self._xcs_stats.joined += 1  # (for explain: not a call of its own)
                return self._glue_fn()(*args, **kwargs)  # join the outer trace
            inline = getattr(trace, "inline", None)
            if inline is not None:  # autograph records the body (and names it in errors)
                return inline(self._name, self._fn, args, kwargs)
            return self._fn(*args, **kwargs)  # jit is disabled
        if self._is_generator:  # generators run plainly (docs/semantics.md)
            return run_plainly(self._xcs_stats, GENERATOR, self._fn, args, kwargs, False)
        if self._is_async:
            if module_locks and (why := import_fallback()):  # api/hosts.py
                return run_plainly(self._xcs_stats, why, self._fn, args, kwargs, True)
            coroutine: Any = self._async_call(args, kwargs)  # named as fn's would be
            coroutine.__name__ = getattr(self, "__name__", self._name)
            coroutine.__qualname__ = self._name
            return coroutine
        return self._traced_call(args, kwargs)

    # -- one traced call ------------------------------------------------------------

    def _bound(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The arguments by parameter name; ``None`` if they do not fit or fn has no signature."""
        if self._signature is None:
            try:
                self._signature = inspect.signature(self._fn)
            except (TypeError, ValueError):
                self._signature = False
        if self._signature is False:
            return None
        try:
            assert isinstance(self._signature, inspect.Signature)
            return self._signature.bind(*args, **kwargs).arguments
        except TypeError:
            return None

    def _params(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        bound = self._bound(args, kwargs)
        return [(name, value) for name, value in (bound or {}).items() if name != "self"]

    def _new_run(self, heard: hooks.CallHooks | None = None, cap: int | None = None) -> Run:
        """The run of a call, made at its first op; underway until ``Call.close``."""
        config = self._config
        run = Run(cap=cap if cap is not None else config.max_workers,
                  timeout=timeout_within(config.timeout), executor=config.executor,
                  listener=heard.listener if heard is not None else None)
        context.calls_underway.ids.add(id(run))
        return run

    def _one_at_a_time(self, heard: hooks.CallHooks | None = None) -> Run:
        return self._new_run(heard, cap=1)

    def _new_trace(self, args: tuple[Any, ...], kwargs: dict[str, Any],
                   heard: hooks.CallHooks | None) -> Trace:
        """A trace for one call; ``heard``: the call's hooks (``hooks.hooks_for``)."""
        config = self._config
        stats = self._xcs_stats
        eager = not config.parallel
        # structural_jit("auto") after a narrow graph: the ops run one at a time, but
        # still as a graph, so this call's log measures its real width for the next call
        # (an eager run would record a chain of width 1 whatever the graph).
        narrow = (self._parallel_threshold is not None and stats.last_width is not None
                  and stats.last_width < self._parallel_threshold)
        new_run = self._one_at_a_time if narrow else self._new_run
        make_run = new_run if heard is None else functools.partial(new_run, heard)
        trace = None
        if self._spare_traces:
            try:
                trace = self._spare_traces.pop()  # atomic: each trace serves one call
            except IndexError:
                pass  # another thread took the last one
            else:
                trace.reuse(eager, stats.learned, make_run)
        if trace is None:
            trace = Trace(default_engine(), make_run, name=self._name, boundary=None,
                          learned=stats.learned, eager=eager, redact=config.redact,
                          params=self._params, instrument=rewrite.instrumented)
        trace.call_args = (args, kwargs)
        trace.asynchronous = self._is_async
        return trace

    def _recycle(self, trace: Trace) -> None:
        """Keep the trace of a finished call that issued nothing for a later call (the
        caller knows it is unused: it made no run and ran its glue once)."""
        if len(self._spare_traces) < _SPARE_TRACES:
            self._spare_traces.append(trace)

    def _traced_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if (module_locks and (why := import_fallback())) or (
                _local.on_engine_loop and (why := LOOP_THREAD)):  # set by engine.loop
            return run_plainly(self._xcs_stats, why, self._fn, args, kwargs, False)
        heard = hooks.hooks_for(self._config)  # one set of hooks hears the whole call
        if heard is not None:
            heard.emit("on_graph_start", self._name)
        trace = self._new_trace(args, kwargs, heard)
        started = time.perf_counter()
        call = Call(self, trace, started)
        glue = self._glue_fn()
        try:
            while call.run_glue(glue, args, kwargs):
                pass  # learned a barrier, or falls back: the glue starts again from the top
            if trace.run is not None:
                call.settle()
        except BaseException as interrupt:  # Ctrl-C and the like: stop at once, wait for nothing
            call.interrupt(interrupt)
            raise
        finally:
            call.close(heard)
        if call.to_raise is not None:
            raise call.to_raise
        return call.result

    def _async_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._signature is not False and self._bound(args, kwargs) is None:
            # Plain Python binds an async def's arguments at the call, not at the await.
            hosts.call_refused(self._xcs_stats, self._fn, args, kwargs)
        return async_call(self, args, kwargs)  # api/stepping.py


def _function_like(jitted: JitFunction, fn: Callable[..., Any]) -> None:
    """Show the code flags of function ``fn`` (or a bound method's) as ``inspect`` reads
    them of a function-like object: frameworks choose how to call a callable by
    ``inspect.isgeneratorfunction`` and the like, and have no marker for it."""
    fn = getattr(fn, "__func__", fn) if isinstance(fn, types.MethodType) else fn
    if isinstance(fn, types.FunctionType):
        for name in ("__code__", "__defaults__", "__kwdefaults__"):
            setattr(jitted, name, getattr(fn, name))


def _callable_name(fn: Callable[..., Any]) -> str:
    if isinstance(fn, functools.partial):
        return f"partial({_callable_name(fn.func)})"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return str(name or type(fn).__name__)


def _jit_class(cls: type, config: Config | None, parallel_threshold: int | None) -> type:
    # Looked up in the class's own MRO: cls.__call__ alone would find the metaclass's
    # (type.__call__, the constructor) for a class whose instances are not callable.
    if next((vars(klass)["__call__"] for klass in cls.__mro__ if "__call__" in vars(klass)),
            None) is None:  # nothing to jit; calling an instance raises as in plain Python
        return cls
    call = JitFunction(cls.__call__, config, name=cls.__qualname__,
                       parallel_threshold=parallel_threshold)
    return jitted_class(cls, call)  # api/classes.py


@overload
def jit(fn: F, /, *, config: Config | None = None) -> F: ...


@overload
def jit(fn: None = None, /, *, config: Config | None = None) -> Callable[[F], F]: ...


def jit(fn: Any = None, /, *positional: Any, config: Config | None = None,
        **settings: Any) -> Any:
    """Make independent op calls inside ``fn`` run concurrently, from the first call.

    Works on functions (``async def`` too: await the call), lambdas, methods,
    ``functools.partial`` objects, callable objects and ``Operator`` classes. Results,
    exceptions and side effects are those of plain Python.

    Args:
        fn: what to jit (omit it to get a decorator: ``@jit(config=...)``).
        config: a ``Config``; default ``Config()``.

    Returns:
        A ``JitFunction`` (for a class: a subclass whose calls are jitted; a class
        without ``__call__`` comes back unchanged, its instances not callable).

    Raises:
        ConfigError: ``config`` is not a ``Config``, ``fn`` is not callable, or a setting
            was passed directly (``jit(f, parallel=False)``: it goes in ``config``).

    Example:
        >>> from ember.xcs import jit, op
        >>> @op
        ... def double(x):
        ...     return 2 * x
        >>> @jit
        ... def total(xs):
        ...     return sum(double(x) for x in xs)
        >>> total([1, 2, 3])
        12
    """
    if "options" in settings:  # pyember's @jit(options=JITOptions(...)): ember/xcs/compat
        from ember.xcs.compat.options import jit_with_options
        return jit_with_options(jit, fn, positional, config, settings)
    refuse_misplaced("jit()", ("config",), (), positional, settings)
    require_config("jit(config=...)", config)

    def wrap(target: Any) -> Any:
        if isinstance(target, JitFunction):
            return target if config is None else target.with_config(config)
        if isinstance(target, type):
            return _jit_class(target, config, None)
        if isinstance(target, staticmethod | classmethod):  # @jit over either: binds as it
            return type(target)(JitFunction(target.__func__, config))
        return JitFunction(target, config)

    return wrap if fn is None else wrap(fn)


jit.__signature__ = without_catchalls(jit)  # type: ignore[attr-defined]
