"""``Trace``: the state of one jitted call while its glue code runs.

The trace turns op calls into engine tasks and hands back ``Lazy`` values; turns
cheap operations on lazy values into lifted tasks, ordered per root object so that
in-place changes are seen by later reads; turns barriers into waits; and, at the
end, records what happened as IR (``graph``). Everything a lazy value passes into is
snapshotted (``tree.snapshot``): an op sees its arguments as they were at the call,
even if the glue changes a list it passed afterwards.

A run of the glue that had to be repeated (the last resort, when C code rejected a
lazy value the tracer did not see coming) reuses the ops of the previous run through
a *memo* of the calls issued, so no op runs twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FrameType
from typing import Any

from ember.xcs import tree
from ember.xcs.engine.driver import Engine
from ember.xcs.engine.state import Run
from ember.xcs.engine.task import Task, TaskState
from ember.xcs.ir.graph import NodeKind, SourceLocation
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.awaiting import final
from ember.xcs.tracing.barrier import Barrier
from ember.xcs.tracing.coroutines import eager_coroutine, op_coroutine
from ember.xcs.tracing.failures import DeferredFailure, wait_for_ops
from ember.xcs.tracing.frames import CallMode, inspect_site, location_of
from ember.xcs.tracing.holding import shares_objects
from ember.xcs.tracing.immediate import run_at_call, runs_at_call
from ember.xcs.tracing.lazy import Lazy, roots_of
from ember.xcs.tracing.learned import LearnedBarriers
from ember.xcs.tracing.log import graph_outputs
from ember.xcs.tracing.memo import reused_call, taken
from ember.xcs.tracing.ordering import Ordering
from ember.xcs.tracing.outside import outside_tree, outside_value, resolve_records
from ember.xcs.tracing.thread_bound import BOUND, eager_reason_of

__all__ = ["Barrier", "Trace"]

_get = object.__getattribute__
_IMMUTABLE = tree.ATOMS | {tuple, frozenset}
_LAZY, _OP, _TENSOR = CallMode.LAZY, NodeKind.OP, NodeKind.TENSOR  # (read per op call)


class Trace:
    """One jitted call in progress (owned by the thread running its glue).

    Args:
        engine: the engine that runs the tasks.
        make_run: creates the call's ``Run`` on the first op (a call that issues no op
            never creates one).
        name: the traced function's name (for the graph).
        boundary: the frame that called the traced function; frames above it are not
            user code of this call.
        learned: the function's learned barriers (last-resort lines).
        eager: run every op eagerly (plain Python order).
        redact: keep no literal values in the IR.
        params: ``params(args, kwargs)`` gives ``(name, value)`` of the call's bound
            arguments (``call_args``), shown as graph inputs.
        instrument: ``instrument(fn)`` gives the rewritten form of a user function.
    """

    def __init__(self, engine: Engine, make_run: Callable[[], Run], *, name: str,
                 boundary: FrameType | None, learned: LearnedBarriers | None = None,
                 eager: bool = False, redact: bool = False,
                 params: Callable[[tuple[Any, ...], dict[str, Any]],
                                  list[tuple[str, Any]]] | None = None,
                 instrument: Callable[[Any], Any] | None = None) -> None:
        self.engine = engine
        self._make_run = make_run
        self.run: Run | None = None
        self.name = name
        self.boundary = boundary
        self.learned = learned if learned is not None and learned.active else None
        self._learned_source = learned
        self.eager = eager
        self.redact = redact
        self.params = params  # bound arguments, shown in the log (tracing.log.call_log)
        self.call_args: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._instrument = instrument
        self.lazies: list[Lazy] = []
        self.coroutines: list[Any] = []  # OpCoroutines made (settled when the call ends)
        self.awaited: list[Task] = []  # their tasks, in the order the glue awaited them
        self.barriers: list[Barrier] = []
        self.arguments: list[Any] = []  # per task id: its snapshot's args, then kwargs
        self.ordering = Ordering()
        self.issued: list[Any] = []  # per op call: op, args, kwargs, lazy (flat: memo.STEP)
        self._memo: list[Any] | None = None
        self.finished = self.glue_ended = False  # glue_ended: (async) it returned or raised
        self.asynchronous = False  # the glue is an ``async def`` (set per call by jit)
        self.interrupted_by: BaseException | None = None  # raised inside a wait for ops

    # -- the call's run ---------------------------------------------------------------

    def _new_run(self) -> Run:
        self.run = run = self._make_run()
        return run

    def release(self) -> None:
        """Drop what only the running call needed, so that a finished call is freed."""
        self.issued, self.arguments, self.lazies, self.awaited = [], [], [], []
        self.boundary = self.call_args = self._memo = self.interrupted_by = None
        self.ordering = Ordering()
        if self.run is not None:
            with self.run.lock:
                self.run.detach()
        self.run = None

    def reuse(self, eager: bool, learned: LearnedBarriers, make_run: Callable[[], Run]) -> None:
        """Prepare a trace that issued nothing for another call of the same function."""
        self.finished = self.glue_ended = False
        self.eager = eager
        self._make_run = make_run
        self._learned_source = learned
        self.learned = learned if learned.active else None

    def next_run(self, *, eager: bool = False) -> None:
        """Start the function again from the top, reusing this run's ops via the memo."""
        self._memo = self.issued
        self.issued = []
        self.barriers = []
        source = self._learned_source
        self.learned = source if source is not None and source.active else None
        self.eager = self.eager or eager

    def instrumented(self, fn: Any) -> Any:
        """The rewritten form of user function ``fn`` (``fn`` itself if there is none)."""
        return fn if self._instrument is None else self._instrument(fn)

    def site_mode(self) -> CallMode:
        """How an operation at the current call site must run (lazily or now)."""
        return CallMode.TRY if self.eager else inspect_site(self.boundary, self.learned)[1]

    # -- op calls ---------------------------------------------------------------------

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Record a call of ``op``; returns a ``Lazy`` (or the value, when it runs eagerly)."""
        run = self.run or self._new_run()
        if run.failure is not None or run.stopped is not None:
            raise DeferredFailure()
        if type(op) is not Op and not isinstance(op, Op):
            op = Op(op)
        location, mode, stop = inspect_site(self.boundary, self.learned)
        eager_reason: str | None = None
        if op.effect:
            # Program order: an effect runs after every op issued before it, and not at
            # all if one of them failed (plain Python would never have reached it).
            self._wait(lambda: self.engine.wait_all(run))
            if run.failure is not None:
                raise DeferredFailure()
            eager_reason = "effect"
        elif mode is not _LAZY:
            eager_reason = mode.value
        elif self.eager or (handed := eager_reason_of(op, args, kwargs, self)) is not None:
            eager_reason = "serial" if self.eager else handed  # an iterator, a connection
        if op.is_coroutine and self.asynchronous and eager_reason is None:
            if shares_objects(args, kwargs):  # starts once awaited, as in plain Python
                return op_coroutine(op.name, call=functools.partial(self.issue, op, args,
                                                                    kwargs, location))
            return op_coroutine(op.name, self.issue(op, args, kwargs, location))
        if eager_reason is None:  # the common case
            lazy = self.issue(op, args, kwargs, location)
            _get(lazy, "_xcs_task").stop_becomes = stop  # (see tracing.protocols)
            return lazy
        waits = len(self.barriers)
        # The glue waits for the op: its body gets the caller's own objects, lazy values
        # inside them resolved, as in plain Python (the memo keeps them as they were).
        reason = f"eager op ({eager_reason})"
        args = self.force_tree(args, reason, records=True, location=location)
        kwargs = self.force_tree(kwargs, reason, records=True, location=location)
        memo_args = taken(args, kwargs)  # as they are now, for a rerun's memo
        task = _get(self.issue(op, args, kwargs, location, eager_reason, memo_args), "_xcs_task")
        if len(self.barriers) == waits:  # one barrier per call site (its arguments' or its own)
            self._barrier(f"eager op ({eager_reason})", location, task)
        if op.is_coroutine and self.asynchronous:  # awaited by the glue: the loop runs on
            return eager_coroutine(self, task, op.name)
        return self._eager_value(task, op.is_coroutine)

    def issue(self, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any],
              location: SourceLocation | None, eager_reason: str | None = None,
              memo_args: tuple[Any, Any] | None = None) -> Lazy:
        """Record the task of one op call (the memo's, when a rerun repeats the call)."""
        run = self.run or self._new_run()
        if run.failure is not None or run.stopped is not None:
            raise DeferredFailure()
        memo_args = memo_args if memo_args is not None else (args, kwargs)
        memo = self._memo  # a rerun: the calls of the run before, until the runs diverge
        lazy = reused_call(memo, len(self.issued), op, *memo_args) if memo is not None else None
        if lazy is None:
            self._memo = None
            kind = _TENSOR if op.kind == "tensor" else _OP
            eager = eager_reason is not None
            task, _ = self._record(kind, op.name, None, args, kwargs, location, op=op,
                                   eager=eager, shared=eager, here=eager_reason == BOUND,
                                   deferred=op.is_coroutine and self.asynchronous)
            lazy = Lazy(task, self, None)  # its own task is its root (roots_of)
            self.lazies.append(lazy)
            if not eager:  # the objects of the user's it shares (tracing.holding)
                self.ordering.holders.note(lazy, args, kwargs)
                self.ordering.holders.note_globals(lazy, op)
        self.issued += (op, *memo_args, lazy)  # flat: no tuple kept per call in flight
        return lazy

    async def when_final(self, task: Task) -> Any:
        """The eager outcome of ``task`` once it is final, awaited without blocking the loop."""
        await final(task)
        return self._eager_value(task)

    def _eager_value(self, task: Task, coroutine: bool = False) -> Any:
        """An eager op's value; an ``async def`` op's is a coroutine, as calling one gives."""
        self._wait(lambda: self.engine.wait(task))
        if task.state is TaskState.DONE:
            return Op.finished(task.value) if coroutine else task.value
        if task.state is TaskState.FAILED and task.eager:
            assert task.error is not None
            if coroutine:
                return Op.finished(None, task.error)  # raises where it is awaited
            raise task.error  # plain Python raises it right here
        raise DeferredFailure()

    # -- lifted operations and barriers -----------------------------------------------

    def lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any], mutates: bool = False, returns_argument: bool = False
             ) -> Any:
        """Record a cheap pure operation on lazy values (or run it now, when it must).

        ``returns_argument``: the operation may give back one of its arguments itself
        (``d.get(k, default)``, ``max(a, b)``), which then must not be a copy.
        """
        if context.current_trace() is not self or self.finished:
            return fn(*outside_tree(args), **outside_tree(kwargs))
        run = self.run or self._new_run()
        if run.failure is not None or run.stopped is not None:
            raise DeferredFailure()
        location, mode, stop = inspect_site(self.boundary, self.learned)
        if not self.lifts(mode, name, args, kwargs, mutates, returns_argument):
            return run_at_call(self, name, fn, args, kwargs, location)
        task, roots = self._record(NodeKind.LIFTED, name, fn, args, kwargs, location,
                                   mutates=mutates)
        task.stop_becomes = stop
        attribute = args[1] if name == "getattr" and type(args[1]) is str else None
        lazy = Lazy(task, self, roots, attribute)
        self.lazies.append(lazy)
        # It reads the user's objects it is given when it runs: the glue changes them
        # only after that (``asdict(rec)`` then ``rec.status = "done"``).
        self.ordering.holders.note(lazy, args, kwargs)
        return lazy

    def lifts(self, mode: CallMode, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
              mutates: bool = False, returns_argument: bool = False) -> bool:
        """Whether ``lift`` records the operation at a site of ``mode`` (else: runs it now)."""
        return not (self.eager or mode is not CallMode.LAZY
                    or (mutates and self.ordering.may_be_callers(roots_of(args[0])))
                    or runs_at_call(name, args, kwargs, stores=mutates or returns_argument))

    def force(self, lazy: Lazy, reason: str) -> Any:
        """The value behind ``lazy``: a barrier (waits for it, records where)."""
        if _get(lazy, "_xcs_trace") is not self or context.current_trace() is not self \
                or self.finished:
            return outside_value(lazy)
        task: Task = _get(lazy, "_xcs_task")
        location = inspect_site(self.boundary, None)[0]
        self._barrier(reason, location, task)
        return self._value_of(lazy)

    def force_tree(self, value: Any, reason: str, *, records: bool = False,
                   location: SourceLocation | None = None) -> Any:
        """``value`` with every lazy value inside replaced by its value, in place."""
        if type(value) in tree.ATOMS:
            return value
        found = tree.leaves(value, Lazy, records=records)
        if not found:
            return value
        if location is None:
            location = inspect_site(self.boundary, None)[0]
        for lazy in found:
            if type(lazy) is Lazy and _get(lazy, "_xcs_trace") is self:
                self._barrier(reason, location, _get(lazy, "_xcs_task"))
        return tree.replace(value, self._real, Lazy, records=records)

    def _real(self, lazy: Lazy) -> Any:
        if _get(lazy, "_xcs_trace") is not self:
            return outside_value(lazy)
        return self._value_of(lazy)

    def _value_of(self, lazy: Lazy) -> Any:
        """Wait for ``lazy`` (and for changes made to its objects) and return its value.

        A mutable value handed to the glue could be changed in place by it, so it is
        handed over only once the ops that received it earlier have finished.
        """
        task: Task = _get(lazy, "_xcs_task")
        roots = roots_of(lazy)
        if roots:
            for write in self.ordering.later_changes(task, roots):
                self._settle(write)
        self._settle(task)
        value = task.value
        if roots and type(value) not in _IMMUTABLE:
            for reader in self.ordering.open_reads(roots):
                self._wait(functools.partial(self.engine.wait, reader))
        return value

    def _settle(self, task: Task) -> None:
        if not _done(task):
            self._wait(functools.partial(self.engine.wait, task))
            if not _done(task):
                raise DeferredFailure()

    def _wait(self, wait: Callable[[], None]) -> None:
        wait_for_ops(self, wait)

    def materialize_learned(self, value: Any, frame: FrameType) -> Any:
        """``value`` with its lazy values resolved before a learned line runs."""
        return self.force_tree(value, "learned line", records=True, location=location_of(frame))

    def materialize(self, value: Any) -> Any:
        """``value`` with every lazy leaf (in containers and records) replaced, in place."""
        if type(value) is Lazy:
            return self._real(value)
        if type(value) in tree.ATOMS:
            return value
        return tree.replace(value, self._real, Lazy, records=True)

    def _barrier(self, reason: str, location: SourceLocation | None, task: Task | None) -> None:
        position = len(self.run.tasks) if self.run is not None else 0
        self.barriers.append(Barrier(reason, location, task, position))

    # -- recording --------------------------------------------------------------------

    def _as_task(self, lazy: Lazy) -> Any:
        return _get(lazy, "_xcs_task") if _get(lazy, "_xcs_trace") is self else outside_value(lazy)

    def _record(self, kind: NodeKind, name: str, fn: Callable[..., Any] | None,
                args: tuple[Any, ...], kwargs: dict[str, Any],
                location: SourceLocation | None, *, op: Op | None = None,
                eager: bool = False, mutates: bool = False, shared: bool = False,
                deferred: bool = False, here: bool = False) -> tuple[Task, tuple[Task, ...]]:
        """Snapshot the arguments, submit a task; returns it and its inputs' roots.

        Per root of its inputs the task waits for the last change; a task that may
        change a root also waits for every use of it since (see ``tracing.lazy``).
        ``shared`` arguments are passed as they are (an effect's: nothing runs beside it).
        A ``deferred`` task's failure is the call's once awaited (``tracing.coroutines``).
        An eager task runs on this thread (not under a deadline, nor in ``async def``
        glue); a ``here`` one (sqlite3) always does.
        """
        run = self.run or self._new_run()
        found: list[Any] = []
        held: list[Any] = []
        copied: list[tuple[Any, Any]] = []
        if shared:
            snapshot_args, snapshot_kwargs = args, kwargs
        else:
            snapshot_args, snapshot_kwargs = tree.snapshot_call(args, kwargs, Lazy, self._as_task,
                                                                found, held, copied)
        # No lazy input: the common case for a fan-out's ops.
        unique, roots = self._inputs(found, held, mutates) if found or held else ((), [])
        task = Task(run, kind, name, fn, snapshot_args, snapshot_kwargs, unique, location, op,
                    eager or deferred, resolve_records if held else None)
        if copied:  # a body handing back one of them gives the caller's own object
            self.ordering.gives_back(task, copied)
        task.inline = here or (eager and not self.asynchronous and run.deadline is None)
        self.arguments += (snapshot_args, snapshot_kwargs)  # flat: no pair kept per task
        if roots and not eager:
            self.ordering.note(task, roots, mutates)
        self.engine.submit(task)
        return task, tuple(roots) if roots else ()

    def _inputs(self, found: list[Any], held: list[Any], mutates: bool
                ) -> tuple[tuple[Task, ...], list[Task]]:
        """The tasks a new task waits for, and the roots of its inputs."""
        inputs: list[Task] = []
        roots: list[Task] = []
        for lazy in (*found, *held):
            # Another call's lazy value is replaced by the value itself; and once that
            # call has ended, its escape repair may have put the value in these lists.
            if type(lazy) is not Lazy or _get(lazy, "_xcs_trace") is not self:
                continue
            inputs.append(_get(lazy, "_xcs_task"))
            roots.extend(roots_of(lazy))
        roots = list(dict.fromkeys(roots))
        return self.ordering.waits_for(inputs, roots, mutates), roots

    # -- the record of the call -------------------------------------------------------

    def graph_outputs(self, result: Any) -> Any:
        """A call's result (before materialisation) with lazy leaves as ``Edge`` markers."""
        return None if self.run is None else graph_outputs(result, self)


def _done(task: Task, done: TaskState = TaskState.DONE) -> bool:  # a local: fast on 3.11
    return task.state is done
