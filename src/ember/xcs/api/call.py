"""One traced call of a jitted function: its outcome, reruns, waiting, and record.

``JitFunction`` (``api.jit``) runs the glue; ``Call`` decides what the call's outcome
is — the op failure plain Python would have met first, a last-resort rerun after C code
rejected a lazy value, a timeout — waits for every op, stops everything at once on an
interrupt, repairs escapes and records the call in the function's stats.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ember.xcs import hooks
from ember.xcs.api.callsite import with_note
from ember.xcs.api.records import CallRecord, Fallback, FunctionStats
from ember.xcs.engine.driver import default_engine
from ember.xcs.engine.state import RunStopped
from ember.xcs.engine.task import TaskState
from ember.xcs.errors import TracingError, XCSTimeoutError
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing import context, escapes
from ember.xcs.tracing.failures import DeferredFailure, failure_of, raised_by_glue, timeout_error
from ember.xcs.tracing.frames import rejection_site
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.learned import install_tracer
from ember.xcs.tracing.log import call_log
from ember.xcs.tracing.own_errors import program_error
from ember.xcs.tracing.trace import Trace
from ember.xcs.tracing.unwound import unwound_frames
from ember.xcs.tracing.versions import loaded_names

if TYPE_CHECKING:
    from ember.xcs.config import Config

__all__ = ["Call", "CallOwner"]

_MAX_LEARNING_RUNS = 3


class CallOwner(Protocol):
    """What a ``Call`` reads of the jitted function it runs (``api.jit.JitFunction``).

    A protocol, so that this module sits below ``api.jit`` rather than beside it.
    """

    _config: Config
    _name: str
    _xcs_stats: FunctionStats
    _parallel_threshold: int | None

    def _recycle(self, trace: Trace) -> None:
        """Keep the trace of a finished call that issued nothing for a later call (the
        caller knows it is unused: it made no run and ran its glue once)."""


class Call:
    """The bookkeeping of one traced call: outcome, reruns, stats (used by ``JitFunction``)."""

    __slots__ = ("interrupted", "outputs", "owner", "result", "runs", "started", "to_raise",
                 "trace")

    def __init__(self, owner: CallOwner, trace: Trace, started: float) -> None:
        self.owner = owner
        self.trace = trace
        self.started = started
        self.result: Any = None
        self.to_raise: BaseException | None = None
        self.outputs: Any = None
        self.runs = 0
        self.interrupted = False

    def run_glue(self, glue: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> bool:
        """Run the glue once under the call's trace; ``True``: it must run again.

        The glue runs again (reusing the ops it issued, see ``Trace.next_run``) when C
        code rejected a lazy value: with a barrier learned at that line, or eagerly.
        """
        trace = self.trace
        trace.boundary = sys._getframe()  # the frame that calls the glue: user code is above
        stop = None
        if trace.learned is not None:
            stop = install_tracer(trace.learned, trace.materialize_learned)
        local = context._local
        previous = local.trace  # context.swap, inlined: this is every call's path
        local.trace, local.plain = trace, True
        try:
            self.finish_glue(glue(*args, **kwargs))  # no local keeps a lazy value alive
        except DeferredFailure:
            self.to_raise = self.earliest_error()
        except BaseException as error:
            # Ctrl-C, cancellation, what a signal handler raised while the glue waited for
            # ops: the call stops at once. sys.exit() and the glue's own errors: the ops
            # issued before end first, as in plain Python.
            if trace.interrupted_by is error or not (isinstance(error, Exception | SystemExit)
                                                     or raised_by_glue(error)):
                raise
            return self.after_glue_error(error, rerun=isinstance(error, Exception))
        finally:
            local.trace, local.plain = previous, previous is not None or local.disabled > 0
            if stop is not None:
                stop()
        return False

    def finish_glue(self, result: Any) -> None:
        trace = self.trace
        if trace.run is not None:
            self.outputs = trace.graph_outputs(result)
            result = trace.materialize(result)
        self.result = result

    def earliest_error(self) -> BaseException:
        run = self.trace.run
        assert run is not None, "a deferred failure implies an op was issued"
        try:
            failure = default_engine().earliest_failure(run)
        except RunStopped:
            return timeout_error(run)
        if failure is None:
            if run.stopped == "timeout":
                return timeout_error(run)
            cancelled = next((t for t in run.tasks if t.state is TaskState.CANCELLED), None)
            if cancelled is not None:
                return failure_of(cancelled)
            return TracingError("an op failed but no failure was recorded (please report this)")
        return with_note(failure_of(failure), failure)

    def after_glue_error(self, error: BaseException, *, rerun: bool = True) -> bool:
        """Decide what a glue exception means; ``True``: run the glue again."""
        self.to_raise = error
        trace = self.trace
        run = trace.run
        if run is None:
            return False
        engine = default_engine()
        if isinstance(error, RecursionError):
            # Out of stack, maybe inside XCS while it issued an op, which then never
            # starts: stop the run (cancel what has not started) rather than wait for it.
            engine.stop(run, "RecursionError")
        try:
            # Every op issued so far comes before the error in program order: if one of
            # them fails, plain Python would have raised that instead.
            engine.wait_all(run)
            failure = engine.earliest_failure(run)
        except RunStopped:
            self.to_raise = timeout_error(run)
            return False
        if failure is not None:
            self.to_raise = with_note(failure_of(failure), failure)
            return False
        if not rerun or trace.eager or isinstance(error, _NEVER_RETRIED):
            return False
        retry = self._retry(error)
        if isinstance(retry, BaseException):
            self.to_raise = retry
            return False
        if retry is None:
            return False
        self.runs += 1
        self.owner._xcs_stats.note_fallback(retry)  # once per call: it counts repeats
        trace.next_run(eager=retry.eager)
        self.to_raise = None
        return True

    def _retry(self, error: BaseException) -> Fallback | BaseException | None:
        owner = self.owner
        trace = self.trace
        site = rejection_site(error, trace.boundary)
        if site is None or program_error(error, site.frame, Lazy):
            return None
        config = owner._config
        # Under redact the message stays out of stats: it may quote argument values.
        reason = type(error).__name__ if config.redact else f"{type(error).__name__}: {error}"
        learned = owner._xcs_stats.learned
        if not _lazy_involved(trace, site) and not learned.covers(site.code, site.first_line):
            if not isinstance(error, TypeError) or not config.fallback or not trace.lazies:
                return None  # the program's own error: plain Python raises it too
            # C code rejects values with TypeError; a lazy value out of sight (in a global,
            # say) may be the cause: only a plain run can tell.
            learned_line = False
        else:
            learned_line = self.runs < _MAX_LEARNING_RUNS and learned.add(
                site.code, site.first_line, site.last_line, site.location, reason
            )
        if learned_line:
            return Fallback(f"learned barrier after {reason}", site.location)
        if not config.fallback:
            return TracingError(
                f"{owner._name}: a lazy value was rejected at {site.location} ({reason}) and "
                "Config(fallback=False) forbids running the call eagerly. Move the rejecting "
                "call into an op, or allow fallback."
            )
        return Fallback(f"ran eagerly after {reason}", site.location, eager=True)

    def settle(self) -> None:
        """Wait for every op of the call; pick the failure plain Python would raise."""
        run = self.trace.run
        if run is None:
            return
        engine = default_engine()
        try:
            # Also after a failure: ops that had already started when it happened may
            # finish, but before the call ends, so that nothing of it runs afterwards.
            engine.wait_all(run)
            if self.to_raise is None:
                failure = engine.earliest_failure(run)
                if failure is not None:
                    self.to_raise = with_note(failure_of(failure), failure)
        except RunStopped:
            if self.to_raise is None:  # a failure already known is what plain Python raises
                self.to_raise = timeout_error(run)
        if run.stopped == "timeout" and run.failure is None \
                and not isinstance(self.to_raise, XCSTimeoutError):
            # The deadline ends the whole call, whatever the function did once a wait in
            # it raised: its own `except TimeoutError` may have caught that, which plain
            # Python (with no deadline at all) would never have done.
            self.to_raise = timeout_error(run)

    def interrupt(self, interrupt: BaseException) -> None:
        """Stop the run at once: queued ops are cancelled, running ones abandoned."""
        self.interrupted = True
        self.to_raise = interrupt  # what hooks and spans hear the call ended with
        run = self.trace.run
        if run is not None:
            default_engine().stop(run, f"interrupted by {type(interrupt).__name__}")

    def close(self, heard: hooks.CallHooks | None) -> None:
        """End the call: record it, free what it held, tell ``heard`` (its hooks)."""
        owner = self.owner
        trace = self.trace
        trace.finished = True
        stats = owner._xcs_stats
        run = trace.run
        wall = time.perf_counter() - self.started
        failed = self.to_raise is not None or self.interrupted
        record = None
        if run is None and not trace.barriers:
            stats.record_plain(wall, failed, _raised(self.to_raise, owner._config.redact))
        else:
            record = self._record(wall, failed, heard)
        summary = self.summary(wall) if heard is not None else None
        if run is not None:  # a call that issued no op made no lazy value: nothing to free
            lazies, stores = trace.lazies, trace.ordering.stores
            for coroutine in trace.coroutines:
                coroutine.settle()
            trace.coroutines = []
            trace.release()
            report = escapes.repair(lazies, stores,
                                    unwound_frames(self.to_raise) if failed else None)
            del stores
            del lazies
            if report.escaped:
                # The repair is part of the call: the caller waited for it.
                stats.record_escapes(report, record)
                wall += report.seconds
            # Its lazy values have their values now, wherever held (``JitFunction._new_run``).
            context.calls_underway.ids.discard(id(run))
        elif not self.runs:  # no run, no rerun: it made no lazy value, barrier or memo
            trace.boundary = trace.call_args = None  # nothing of the call stays reachable
            owner._recycle(trace)
        else:
            trace.boundary = None
        if heard is not None and summary is not None:
            heard.emit("on_call_end", summary)
            heard.emit("on_graph_end", owner._name, wall, self.to_raise)

    def summary(self, wall: float) -> hooks.CallSummary:
        """What the call did, in counts (for ``on_call_end``)."""
        run = self.trace.run
        tasks = run.tasks if run is not None else []
        barriers = len(self.trace.barriers)
        ops = sum(1 for task in tasks if task.kind is not NodeKind.LIFTED)
        return hooks.CallSummary(self.owner._name, wall, len(tasks) + barriers, ops, barriers,
                                 self.to_raise)

    def _record(self, wall: float, failed: bool, heard: hooks.CallHooks | None) -> CallRecord:
        owner = self.owner
        trace = self.trace
        config = owner._config
        stats = owner._xcs_stats
        log = call_log(trace, None if failed else self.outputs)
        raised = _raised(self.to_raise, config.redact)
        record = CallRecord(log=log, wall=wall, structure=log.structure, reruns=self.runs,
                            started=self.started if config.profile else None, raised=raised)
        repeat = stats.record(record, log.tokens, failed)
        if heard is not None:
            heard.emit("on_cache_hit" if repeat else "on_cache_miss", owner._name)
        if owner._parallel_threshold is not None and (not repeat or stats.last_width is None):
            # structural_jit("auto"): the width of a new structure, read from the log in
            # one pass (no graph is built); a repeated structure keeps the width it had.
            stats.last_width = log.shape().max_parallelism
        return record


def _raised(error: BaseException | None, redact: bool) -> str | None:
    """What a call raised, as ``explain`` shows it (under redact: no values)."""
    if error is None:
        return None
    return type(error).__name__ if redact else f"{type(error).__name__}: {error}"


_NEVER_RETRIED = (XCSTimeoutError, RecursionError, MemoryError)


def _lazy_involved(trace: Trace, site: Any) -> bool:
    """Whether lazy values could be what the failing line tripped over."""
    from ember.xcs import tree

    local_vars = site.frame.f_locals
    for name in loaded_names(site.code, site.first_line, site.last_line):
        if name in local_vars and tree.contains(local_vars[name], Lazy, records=True):
            return True
    filename = site.code.co_filename
    for task in trace.run.tasks if trace.run is not None else ():
        location = task.location
        if location is not None and location.filename == filename and (
            site.first_line <= location.lineno <= site.last_line
        ):
            return True
    return False

