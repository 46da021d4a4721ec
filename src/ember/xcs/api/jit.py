"""``jit``: run a function's independent ops concurrently, with plain-Python meaning.

A call of a jitted function runs the function's code (the *glue*) in the calling
thread under a ``Trace``. Op calls return ``Lazy`` values and start on the engine as
soon as their inputs exist; the glue only waits where it needs a concrete value. At
return the result is materialised and every op issued is awaited. If an op failed,
the failure plain Python would have met first is raised, with its own type. If the
glue failed because C code rejected a lazy value, the line becomes a learned barrier
and the function runs again from the top, reusing every op already issued; the last
resort is a fully eager run, which always means what plain Python means.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ember.xcs import hooks
from ember.xcs.api.stats import CallRecord, Fallback, FunctionStats, NodeTiming, register
from ember.xcs.config import Config
from ember.xcs.engine.scheduler import Schedule, Task, TaskState, default_engine
from ember.xcs.errors import ConfigError, TracingError, XCSTimeoutError
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import is_internal, names_on_lines, rejection_site
from ember.xcs.tracing.lazy import contains_lazy
from ember.xcs.tracing.learned import install_tracer
from ember.xcs.tracing.trace import BarrierRecord, DeferredFailure, Trace, failure_of

__all__ = ["JitFunction", "jit", "jit_disabled", "structural_jit"]

F = TypeVar("F", bound=Callable[..., Any])

_MAX_LEARNING_RUNS = 3
# The tracing context's thread-local also holds the disable_structural_jit() depth, so
# that one attribute read answers "run plainly?" on every call.
_local = context._local


def jit_disabled() -> bool:
    """Whether ``disable_structural_jit()`` is active in this thread."""
    return _local.disabled > 0


def _set_disabled(delta: int) -> None:
    _local.disabled += delta
    _local.plain = _local.disabled > 0 or _local.trace is not None


class JitFunction:
    """A jitted callable. Call it like the original; ask it ``stats()`` and ``explain()``.

    Works as a method too (it binds like a function).
    """

    def __init__(self, fn: Callable[..., Any], config: Config | None = None,
                 name: str | None = None, stats: FunctionStats | None = None,
                 parallel_threshold: int | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"jit() needs a callable, got {type(fn).__name__} {fn!r}.")
        try:  # first, so that attributes copied from fn's __dict__ never shadow ours
            functools.update_wrapper(self, fn)
        except (AttributeError, TypeError):
            pass
        self._fn = fn
        self._config = config if config is not None else Config()
        self._name = name or _callable_name(fn)
        self._xcs_stats = stats if stats is not None else FunctionStats(self._name)
        self._parallel_threshold = parallel_threshold
        self._signature: inspect.Signature | bool | None = None
        from ember.xcs.transforms.tensor import TensorPath, tensor_path

        # Tensor-only calls go to jax.jit until the function proves to be orchestration.
        self._tensor: TensorPath | None = tensor_path(fn)
        register(self)

    @property
    def config(self) -> Config:
        """The configuration this function runs with."""
        return self._config

    def with_config(self, config: Config | None = None, **changes: Any) -> JitFunction:
        """The same function (sharing stats and learned barriers) with other settings."""
        base = config if config is not None else self._config
        return JitFunction(self._fn, base.replace(**changes) if changes else base,
                           self._name, self._xcs_stats, self._parallel_threshold)

    def stats(self) -> dict[str, Any]:
        """Measured facts about this function (see ``get_jit_stats``)."""
        return self._xcs_stats.snapshot(cache=self._config.cache)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        """``explain`` for this function (runs it when arguments are given)."""
        from ember.xcs.api.explain import explain

        return explain(self, *args, **kwargs)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        import types

        return types.MethodType(self, instance)

    def __repr__(self) -> str:
        return f"<jit {self._name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _local.plain:
            return self._fn(*args, **kwargs)  # join the outer trace (or jit is disabled)
        tensor = self._tensor
        if tensor is not None:
            return tensor(self, args, kwargs)
        return self._traced_call(args, kwargs)

    # -- the traced call ----------------------------------------------------------

    def _params(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        if self._signature is None:
            try:
                self._signature = inspect.signature(self._fn)
            except (TypeError, ValueError):
                self._signature = False
        if self._signature is False:
            return []
        try:
            bound = self._signature.bind(*args, **kwargs)  # type: ignore[union-attr]
        except TypeError:
            return []
        return [(name, value) for name, value in bound.arguments.items() if name != "self"]

    def _new_schedule(self) -> Schedule:
        config = self._config
        return Schedule(default_engine(), max_workers=config.workers, executor=config.executor,
                        timeout=config.timeout, listener=hooks.listener_for(config))

    def _traced_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        config = self._config
        stats = self._xcs_stats
        eager = not config.parallel or (
            self._parallel_threshold is not None
            and stats.last_width is not None
            and stats.last_width < self._parallel_threshold
        )
        trace = Trace(
            self._new_schedule, name=self._name, boundary=sys._getframe(),
            learned=stats.learned, eager=eager, redact=config.redact,
            params=lambda: self._params(args, kwargs),
        )
        hooked = bool(config.hooks or hooks._global)
        if hooked:
            hooks.emit(config, "on_graph_start", self._name)
        started = time.perf_counter()
        runs = 0
        fallback: Fallback | None = None
        fn = self._fn
        learned = stats.learned
        outputs: Any = None
        while True:
            to_raise: BaseException | None = None
            stop = None
            if learned._sites:
                stop = install_tracer(learned, trace.materialize_learned)
            previous = context.swap(trace)
            try:
                result = fn(*args, **kwargs)
                if trace.schedule is not None:
                    outputs = trace.graph_outputs(result)
                    result = trace.materialize(result)
            except DeferredFailure:
                to_raise = _earliest_error(trace)
            except BaseException as error:
                to_raise = error
                retry = self._after_glue_error(trace, error, runs)
                if isinstance(retry, BaseException):
                    to_raise = retry
                elif retry is not None:
                    if retry.eager:
                        fallback = retry
                    runs += 1
                    trace.next_run(eager=retry.eager)
                    continue
            finally:
                context.swap(previous)
                if stop is not None:
                    stop()
            schedule = trace.schedule
            if schedule is None and not trace.entries:
                stats.record_plain(time.perf_counter() - started, to_raise is not None)
            else:
                if to_raise is None and schedule is not None:
                    schedule.wait_all()
                    failure = schedule.earliest_failure()
                    if failure is not None:
                        to_raise = _with_note(failure_of(failure), failure)
                trace.finished = True
                self._record(trace, started, runs, to_raise is not None, fallback,
                             None if to_raise is not None else outputs)
                trace.release()
            if hooked:
                hooks.emit(config, "on_graph_end", self._name, time.perf_counter() - started,
                           to_raise)
            if to_raise is not None:
                raise to_raise
            return result

    def _after_glue_error(self, trace: Trace, error: BaseException, runs: int
                          ) -> Fallback | BaseException | None:
        """Decide what a glue exception means: an op failure, a rejection, or itself.

        Returns the exception to raise instead, a ``Fallback`` (meaning: run again), or
        ``None`` (raise ``error`` itself).
        """
        schedule = trace.schedule
        if schedule is None:
            return None
        try:
            schedule.wait_all([t for t in schedule.tasks if t.run == schedule.run])
        except XCSTimeoutError as timeout:
            return timeout
        failure = schedule.earliest_failure()
        if failure is not None:
            return _with_note(failure_of(failure), failure)
        if trace.eager or isinstance(error, _NEVER_RETRIED) or not schedule.tasks:
            return None
        site = rejection_site(error, trace.boundary)
        if site is None:
            return None
        # Under redact the message stays out of stats: it may quote argument values.
        reason = type(error).__name__ if self._config.redact else f"{type(error).__name__}: {error}"
        learned = self._xcs_stats.learned
        if not _lazy_involved(trace, site) and not learned.covers(site.code, site.first_line):
            if not isinstance(error, TypeError) or not self._config.fallback:
                return None  # the program's own error: plain Python raises it too
            # C code rejects values with TypeError; a lazy value out of sight (in an
            # object's attribute, say) may be the cause: only a plain run can tell.
            learned_line = False
        else:
            learned_line = runs < _MAX_LEARNING_RUNS and learned.add(
                site.code, site.first_line, site.last_line, site.location, reason
            )
        if learned_line:
            return Fallback(f"learned barrier after {reason}", site.location)
        if not self._config.fallback:
            return TracingError(
                f"{self._name}: a lazy value was rejected at {site.location} ({reason}) and "
                "Config(fallback=False) forbids running the call eagerly. Move the rejecting "
                "call into an op, or allow fallback."
            )
        return Fallback(f"ran eagerly after {reason}", site.location, eager=True)

    def _record(self, trace: Trace, started: float, runs: int, failed: bool,
                fallback: Fallback | None, outputs: Any) -> None:
        wall = time.perf_counter() - started
        stats = self._xcs_stats
        tasks = trace.run_tasks()
        durations = {t.order: t.duration for t in tasks if t.kind is not NodeKind.LIFTED}
        timings: tuple[NodeTiming, ...] = ()
        if self._config.profile:
            timings = tuple(
                NodeTiming(t.order, t.name, (t.started - started) * 1000,
                           (t.ended - started) * 1000)
                for t in tasks if t.started and t.kind is not NodeKind.LIFTED
            )
        graph: Any = functools.partial(trace.graph, outputs)
        if self._config.redact:
            graph = graph()
        record = CallRecord(graph=graph, durations=durations, wall=wall,
                            barriers=tuple(BarrierRecord(b.reason, b.location)
                                           for b in trace.barriers),
                            structure=trace.structure,
                            timings=timings, reruns=runs)
        hit = stats.record(record, _tokens(tasks), failed, fallback)
        if self._config.hooks or hooks.registered_hooks():
            hooks.emit(self._config, "on_cache_hit" if hit else "on_cache_miss", self._name)
        if self._parallel_threshold is not None:
            from ember.xcs.analysis import analyze

            stats.last_width = analyze(record.graph, cache=self._config.cache)[0].width


_NEVER_RETRIED = (KeyboardInterrupt, SystemExit, GeneratorExit, XCSTimeoutError, RecursionError,
                  MemoryError)


def _earliest_error(trace: Trace) -> BaseException:
    schedule = trace.schedule
    assert schedule is not None, "a deferred failure implies an op was issued"
    failure = schedule.earliest_failure()
    if failure is None:
        cancelled = next((t for t in schedule.tasks if t.state is TaskState.CANCELLED), None)
        if cancelled is not None:
            return failure_of(cancelled)
        return TracingError("an op failed but no failure was recorded (please report this)")
    return _with_note(failure_of(failure), failure)


def _with_note(error: BaseException, task: Task) -> BaseException:
    """``error`` with a note naming the node, and without the engine's own frames."""
    root = task.upstream or task
    where = f" called at {root.location}" if root.location else ""
    note = f"[ember.xcs] raised by node #{root.order} {root.name}{where}"
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None and is_internal(tb.tb_frame.f_code):
        tb = tb.tb_next  # the worker's scheduler frames say nothing about the user's bug
    if tb is not None and not is_internal(tb.tb_frame.f_code):
        error.__traceback__ = tb
    return error


def _lazy_involved(trace: Trace, site: Any) -> bool:
    """Whether lazy values could be what the failing line tripped over."""
    local_vars = site.frame.f_locals
    for name in names_on_lines(site.code, site.first_line, site.last_line):
        if name in local_vars and contains_lazy(local_vars[name]):
            return True
    filename = site.code.co_filename
    for task in trace.schedule.tasks if trace.schedule is not None else ():
        location = task.location
        if location is not None and location.filename == filename and (
            site.first_line <= location.lineno <= site.last_line
        ):
            return True
    return False


_NO_USAGE = frozenset({int, float, bool, str, bytes, list, tuple, dict, set, type(None)})


def _tokens(tasks: list[Task]) -> dict[str, int]:
    """Token usage summed over op results that carry a ``usage`` (model responses)."""
    totals: dict[str, int] = {}
    for task in tasks:
        if task.kind is NodeKind.LIFTED or task.state is not TaskState.DONE:
            continue
        if type(task.value) in _NO_USAGE:
            continue  # built-in results carry no usage (and getattr on them is slow)
        usage = getattr(task.value, "usage", None)
        if usage is None:
            continue
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            count = getattr(usage, key, None)
            if isinstance(count, int):
                totals[key] = totals.get(key, 0) + count
    return totals


def _listener(config: Config) -> Any:
    return hooks.listener_for(config)


def _callable_name(fn: Callable[..., Any]) -> str:
    if isinstance(fn, functools.partial):
        return f"partial({_callable_name(fn.func)})"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return str(name or type(fn).__name__)


def _jit_class(cls: type, config: Config | None, parallel_threshold: int | None) -> type:
    call = cls.__call__  # type: ignore[operator]
    jitted = JitFunction(call, config, name=cls.__qualname__,
                         parallel_threshold=parallel_threshold)
    namespace = {
        "__call__": jitted,
        "__xcs_jit__": jitted,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    return type(cls.__name__, (cls,), namespace)


@overload
def jit(fn: F, /, *, config: Config | None = None) -> F: ...


@overload
def jit(fn: None = None, /, *, config: Config | None = None) -> Callable[[F], F]: ...


def jit(fn: Any = None, /, *, config: Config | None = None) -> Any:
    """Make independent op calls inside ``fn`` run concurrently, from the first call.

    Works on functions, lambdas, methods, ``functools.partial`` objects, callable
    objects and ``Operator`` classes. Results and exceptions are those of plain Python.

    Args:
        fn: what to jit (omit it to get a decorator: ``@jit(config=...)``).
        config: a ``Config``; default ``Config()``.

    Returns:
        A ``JitFunction`` (for a class: a subclass whose calls are jitted).

    Raises:
        ConfigError: ``config`` is not a ``Config`` or ``fn`` is not callable.

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
    if config is not None and not isinstance(config, Config):
        raise ConfigError(f"jit(config=...) needs a Config, got {type(config).__name__}.")

    def wrap(target: Any) -> Any:
        if isinstance(target, JitFunction):
            return target if config is None else target.with_config(config)
        if isinstance(target, type):
            return _jit_class(target, config, None)
        return JitFunction(target, config)

    return wrap if fn is None else wrap(fn)


_STRATEGIES = ("auto", "parallel", "sequential")


def structural_jit(fn: Any = None, /, *, execution_strategy: str = "auto",
                   parallel_threshold: int = 2, config: Config | None = None,
                   max_workers: int | None = None) -> Any:
    """``jit`` for Operators, with the seed's knobs.

    Args:
        execution_strategy: ``"auto"`` / ``"parallel"`` run independent ops
            concurrently; ``"sequential"`` runs them in program order.
        parallel_threshold: with ``"auto"``, a call whose previous graph had fewer
            independent ops at its widest point than this runs sequentially (saves
            thread hops on tiny graphs).
        config: base configuration.
        max_workers: shorthand for ``config.max_workers``.

    Raises:
        ConfigError: unknown strategy or a non-positive threshold.
    """
    if execution_strategy not in _STRATEGIES:
        raise ConfigError(
            f"structural_jit(execution_strategy={execution_strategy!r}): expected one of "
            f"{', '.join(map(repr, _STRATEGIES))}."
        )
    if isinstance(parallel_threshold, bool) or not isinstance(parallel_threshold, int) or (
        parallel_threshold <= 0
    ):
        raise ConfigError(
            f"structural_jit(parallel_threshold=...) must be a positive int, got "
            f"{parallel_threshold!r}."
        )
    base = config if config is not None else Config()
    if max_workers is not None:
        base = base.replace(max_workers=max_workers)
    if execution_strategy == "sequential":
        base = base.replace(parallel=False)
    threshold = parallel_threshold if execution_strategy == "auto" else None

    def wrap(target: Any) -> Any:
        if isinstance(target, type):
            return _jit_class(target, base, threshold)
        return JitFunction(target, base, parallel_threshold=threshold)

    return wrap if fn is None else wrap(fn)
