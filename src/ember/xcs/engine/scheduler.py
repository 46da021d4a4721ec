"""The dataflow scheduler: dependency counting over any executor.

Each jitted call owns a ``Schedule`` (its tasks, its running count, its failure);
the process shares one ``Engine`` (the lock, the per-key concurrency limits and the
default thread pool). A task starts the moment its last input finishes; lifted tasks
(cheap pure operations on lazy values) run inline in whichever thread finished that
input, op tasks go to the executor. No worker ever waits for an input that has not
finished: a task is only handed to a worker when all its inputs exist.

All scheduler state, of every schedule, is guarded by ``Engine.lock``; each schedule
has its own condition on that lock for the threads waiting on it.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ember.xcs.engine.aio import submit_coroutine
from ember.xcs.engine.pool import ElasticThreadPool
from ember.xcs.errors import XCSTimeoutError
from ember.xcs.ir.graph import NodeKind, SourceLocation
from ember.xcs.tracing import context as trace_context

__all__ = ["Engine", "Schedule", "Task", "TaskState", "default_engine", "resolve_tasks"]


class TaskState(enum.IntEnum):
    """Life cycle of a task; everything from ``DONE`` on is terminal."""

    PENDING = 0  # waiting for inputs
    READY = 1  # inputs exist, waiting for a worker slot or a concurrency-limit token
    RUNNING = 2
    DONE = 3
    FAILED = 4  # its own body raised
    UPSTREAM = 5  # an input failed, so it never ran
    CANCELLED = 6  # no longer needed after an earlier failure, so it never ran


_NO_DEPENDENTS: list[Task] = []  # shared and never appended to: see Schedule.submit


class Task:
    """The runtime state of one node of one call (mutated only under ``Engine.lock``)."""

    __slots__ = (
        "__weakref__",
        "args",
        "call",
        "context",
        "dependents",
        "deps",
        "eager",
        "ended",
        "error",
        "kind",
        "limit",
        "location",
        "name",
        "op",
        "order",
        "run",
        "schedule",
        "started",
        "state",
        "upstream",
        "value",
        "waiting",
    )

    def __init__(
        self,
        schedule: Schedule,
        *,
        kind: NodeKind,
        name: str,
        call: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deps: tuple[Task, ...],
        order: int,
        location: SourceLocation | None,
        op: Any = None,
        eager: bool = False,
    ) -> None:
        self.schedule = schedule
        self.kind = kind
        self.name = name
        self.call = call
        self.args: tuple[tuple[Any, ...], dict[str, Any]] = (args, kwargs)
        self.deps = deps
        self.order = order
        self.run = schedule.run
        self.location = location
        self.op = op
        self.eager = eager
        self.limit: _Limit | None = None
        self.context: contextvars.Context | None = None
        self.dependents: list[Task] = _NO_DEPENDENTS
        self.waiting = 0
        self.state = TaskState.PENDING
        self.value: Any = None
        self.error: BaseException | None = None
        self.upstream: Task | None = None
        self.started = 0.0
        self.ended = 0.0

    @property
    def terminal(self) -> bool:
        """Whether the task will never change state again."""
        return self.state >= TaskState.DONE

    @property
    def duration(self) -> float:
        """Seconds the body ran (0 for tasks that never ran)."""
        return self.ended - self.started if self.started else 0.0

    def __repr__(self) -> str:
        return f"<Task #{self.order} {self.name} {self.state.name}>"


def resolve_tasks(tree: Any) -> Any:
    """Replace every finished ``Task`` leaf of an argument pytree by its value."""
    if type(tree) is Task:
        return tree.value
    if isinstance(tree, list):
        return [resolve_tasks(item) for item in tree]
    if isinstance(tree, tuple):
        items = [resolve_tasks(item) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, dict):
        return {key: resolve_tasks(value) for key, value in tree.items()}
    if isinstance(tree, set | frozenset):
        return type(tree)(resolve_tasks(item) for item in tree)
    return tree


class _Limit:
    """A process-wide cap on concurrent runs of ops sharing one ``limit_key``."""

    __slots__ = ("active", "maximum", "waiting")

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.active = 0
        self.waiting: deque[Task] = deque()


Listener = Callable[[str, Task], None]


class Schedule:
    """The scheduler state of one jitted call (or one graph execution).

    Args:
        engine: the shared engine.
        max_workers: hard cap on op bodies of this schedule running at once.
        executor: ``"thread"``, ``"sync"``, ``"process"`` or an executor object.
        timeout: seconds from now after which waits raise ``XCSTimeoutError``.
        listener: called as ``listener(event, task)`` for ``"start"``, ``"end"``,
            ``"error"``; exceptions it raises are reported and ignored.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_workers: int,
        executor: Any = "thread",
        timeout: float | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.engine = engine
        self.changed = threading.Condition(engine.lock)
        self.max_workers = max_workers
        self.executor = executor
        self.deadline = time.monotonic() + timeout if timeout else None
        self.timeout = timeout
        self.listener = listener
        self.tasks: list[Task] = []
        self.queue: deque[Task] = deque()
        self.running = 0
        self.waiters = 0
        self.run = 0
        self.failure: Task | None = None

    # -- building -----------------------------------------------------------------

    def submit(self, task: Task) -> None:
        """Add ``task``; it starts as soon as its inputs have finished."""
        engine = self.engine
        if task.op is not None and task.op.max_concurrency is not None:
            task.limit = engine.limit_for(task.op.limit_key, task.op.max_concurrency)
        if task.kind is not NodeKind.LIFTED:
            task.context = contextvars.copy_context()
        to_start: list[Task] = []
        with engine.lock:
            self.tasks.append(task)
            for dep in task.deps:
                if dep.state is TaskState.DONE:
                    continue
                if dep.terminal:
                    self._mark_upstream(task, dep)
                    break
                if dep.dependents is _NO_DEPENDENTS:
                    dep.dependents = []
                dep.dependents.append(task)
                task.waiting += 1
            else:
                if task.waiting == 0:
                    to_start = self._ready(task)
        if to_start:
            if len(to_start) == 1 and not engine._local.draining:
                engine._start(to_start[0])  # the common case: no drain loop needed
            else:
                engine.start_all(to_start)

    def reuse(self, task: Task, order: int) -> None:
        """Count a task from an earlier run of this call as part of the current run."""
        with self.engine.lock:
            task.order = order
            task.run = self.run

    def next_run(self) -> None:
        """Start a new run of the same call (tasks of earlier runs stay, as orphans)."""
        with self.engine.lock:
            self.run += 1
            self.failure = None

    # -- waiting ------------------------------------------------------------------

    def wait(self, task: Task) -> None:
        """Block until ``task`` is terminal (or the deadline passes)."""
        if task.terminal:
            return
        with self.engine.lock:
            while not task.terminal:
                self._wait_locked()

    def wait_all(self, tasks: Iterable[Task] | None = None) -> None:
        """Block until every task (of ``tasks``, default: all) is terminal."""
        with self.engine.lock:
            pending = [t for t in (self.tasks if tasks is None else tasks) if not t.terminal]
            for task in pending:
                while not task.terminal:
                    self._wait_locked()

    def earliest_failure(self) -> Task | None:
        """The failed task of the current run that plain Python would have met first.

        Waits for every task issued before the current earliest failure, because one
        of them may still fail and then it is the one to report.
        """
        with self.engine.lock:
            while True:
                failure = self.failure
                if failure is None:
                    return None
                blocking = [
                    t for t in self.tasks
                    if t.run == self.run and t.order < failure.order and not t.terminal
                ]
                if not blocking:
                    return failure
                while not blocking[0].terminal:
                    self._wait_locked()

    def release(self) -> None:
        """Forget the task list once the call is over (tasks keep working on their own)."""
        with self.engine.lock:
            self.tasks = []
            self.queue.clear()

    def _wait_locked(self) -> None:
        remaining = None
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                for task in self.tasks:
                    if task.state in (TaskState.PENDING, TaskState.READY):
                        task.state = TaskState.CANCELLED
                self.queue.clear()
                running = [t.name for t in self.tasks if t.state is TaskState.RUNNING]
                raise XCSTimeoutError(
                    f"the call did not finish within timeout={self.timeout} s; "
                    f"still running: {', '.join(running) or 'nothing'}. "
                    "Raise Config(timeout=...) or look for the slow op with explain()."
                )
        self.waiters += 1
        try:
            self.changed.wait(remaining)
        finally:
            self.waiters -= 1

    # -- state transitions (all under engine.lock) --------------------------------

    def _ready(self, task: Task) -> list[Task]:
        """``task`` has its inputs: start it, or queue it behind a cap."""
        if task.state >= TaskState.RUNNING:
            return []
        task.state = TaskState.READY
        if task.kind is NodeKind.LIFTED:
            task.state = TaskState.RUNNING
            return [task]
        limit = task.limit
        if limit is not None and limit.active >= limit.maximum:
            limit.waiting.append(task)
            return []
        if self.running >= self.max_workers:
            self.queue.append(task)
            return []
        self.running += 1
        if limit is not None:
            limit.active += 1
        task.state = TaskState.RUNNING
        return [task]

    def _mark_upstream(self, task: Task, failed: Task) -> None:
        task.state = TaskState.UPSTREAM
        task.upstream = failed.upstream or failed
        for dependent in task.dependents:
            if not dependent.terminal:
                self._mark_upstream(dependent, task)

    def _finished(self, task: Task) -> list[Task]:
        """Bookkeeping after ``task`` reached DONE or FAILED; returns tasks to start."""
        to_start: list[Task] = []
        failed = task.state is TaskState.FAILED
        dependents = task.dependents
        task.dependents = _NO_DEPENDENTS  # nothing can wait on a finished task: drop the links
        if failed:
            for dependent in dependents:
                if dependent.state is TaskState.PENDING:
                    self._mark_upstream(dependent, task)
        if failed and not task.eager and task.run == self.run:
            # Cancel first, so that no slot freed below starts work that plain Python
            # would never have reached.
            if self.failure is None or task.order < self.failure.order:
                self.failure = task
            self._cancel_after(task.order)
        if task.kind is not NodeKind.LIFTED:
            self.running -= 1
            limit = task.limit
            if limit is not None:
                limit.active -= 1
                while limit.waiting and limit.active < limit.maximum:
                    waiting = limit.waiting.popleft()
                    if waiting.state is TaskState.READY:
                        waiting.state = TaskState.PENDING
                        to_start += waiting.schedule._ready(waiting)
            while self.queue and self.running < self.max_workers:
                queued = self.queue.popleft()
                if queued.state is TaskState.READY:
                    queued.state = TaskState.PENDING
                    to_start += self._ready(queued)
        if not failed:
            for dependent in dependents:
                if dependent.state is TaskState.PENDING:
                    dependent.waiting -= 1
                    if dependent.waiting == 0:
                        to_start += self._ready(dependent)
        if self.waiters:
            self.changed.notify_all()
        return to_start

    def _cancel_after(self, order: int) -> None:
        """Tasks after the failure in program order would never have run: drop them."""
        for task in self.tasks:
            if task.order > order and task.state in (TaskState.PENDING, TaskState.READY):
                task.state = TaskState.CANCELLED


class _DrainState(threading.local):
    """Per thread: whether a ``start_all`` loop runs here, and the work it collected."""

    draining = False
    pending: list[Task] | None = None


class Engine:
    """The process-wide execution state: one lock, concurrency limits, the thread pool."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool = ElasticThreadPool()
        self._limits: dict[object, _Limit] = {}
        self._local = _DrainState()
        self._process_pool: concurrent.futures.ProcessPoolExecutor | None = None

    def limit_for(self, key: object, maximum: int) -> _Limit:
        """The shared limit for ``key`` (created on first use; the cap follows the op)."""
        with self.lock:
            limit = self._limits.get(key)
            if limit is None:
                limit = self._limits[key] = _Limit(maximum)
            limit.maximum = maximum
            return limit

    def process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        """The shared process pool behind ``Config(executor="process")``."""
        with self.lock:
            if self._process_pool is None:
                import multiprocessing

                # forkserver, not fork: this process has threads (ours, JAX's) and a
                # fork could copy a lock some other thread holds.
                self._process_pool = concurrent.futures.ProcessPoolExecutor(
                    mp_context=multiprocessing.get_context("forkserver")
                )
            return self._process_pool

    # -- starting and finishing tasks -------------------------------------------

    def start_all(self, tasks: list[Task]) -> None:
        """Start ``tasks`` without recursion: a chain of inline tasks runs in a loop.

        The first call in a thread drains; tasks readied while it runs (by inline
        tasks finishing) are collected in ``pending`` and started in the next batch.
        """
        local = self._local
        if local.draining:
            if local.pending is None:
                local.pending = []
            local.pending.extend(tasks)
            return
        local.draining = True
        try:
            batch: list[Task] | None = tasks
            while batch:
                local.pending = None
                for task in batch:
                    self._start(task)
                batch = local.pending
        finally:
            local.draining = False
            local.pending = None

    def _start(self, task: Task) -> None:
        if task.kind is NodeKind.LIFTED:
            self._execute(task)
            return
        executor = task.schedule.executor
        if executor == "thread":
            op = task.op
            if op is None or op.runs_inline:
                self._execute(task)
            elif op.is_coroutine or op.async_fn is not None:
                self._start_coroutine(task)
            else:
                self.pool.run(lambda: self._execute(task))
        elif executor == "sync":
            self._execute(task)
        else:
            target = self.process_pool() if executor == "process" else executor
            self._start_on_executor(task, target)

    def _execute(self, task: Task) -> None:
        """Run ``task``'s body in this thread and record the outcome."""
        args, kwargs = task.args
        local = self._local
        saved = local.draining, local.pending
        local.draining = False
        if task.schedule.listener is not None:
            self._notify(task.schedule, "start", task)
        # No trace while the body runs (it calls ops plainly, or starts its own trace).
        trace_state = trace_context._local
        trace, plain = trace_state.trace, trace_state.plain
        trace_state.trace, trace_state.plain = None, trace_state.disabled > 0
        task.started = time.perf_counter()
        error: BaseException | None = None
        value: Any = None
        try:
            if task.deps:
                args, kwargs = resolve_tasks(args), resolve_tasks(kwargs)
            if task.context is None:
                value = task.call(*args, **kwargs)
            else:
                value = task.context.run(task.call, *args, **kwargs)
        except BaseException as caught:
            error = caught
        task.ended = time.perf_counter()
        # The body ran with fresh state (it may start a nested trace); what it unblocks
        # goes back to this thread's drain loop, if any, so chains never recurse.
        trace_state.trace, trace_state.plain = trace, plain
        local.draining, local.pending = saved
        if error is None and task.op is not None:
            task.op.observe(task.ended - task.started)
        self.finish(task, value, error)

    def _start_coroutine(self, task: Task) -> None:
        task.started = time.perf_counter()
        self._notify(task.schedule, "start", task)
        args, kwargs = resolve_tasks(task.args[0]), resolve_tasks(task.args[1])
        try:
            coro = (task.op.async_fn or task.op.fn)(*args, **kwargs)
        except BaseException as error:
            self.finish(task, None, error)
            return
        future = submit_coroutine(coro, task.context)
        future.add_done_callback(lambda f: self._finish_future(task, f))

    def _start_on_executor(self, task: Task, executor: concurrent.futures.Executor) -> None:
        task.started = time.perf_counter()
        self._notify(task.schedule, "start", task)
        args, kwargs = resolve_tasks(task.args[0]), resolve_tasks(task.args[1])
        target = task.op.invoke if task.op is not None else task.call
        try:
            if task.op is not None:
                future = executor.submit(target, args, kwargs)
            else:
                future = executor.submit(target, *args, **kwargs)
        except BaseException as error:
            self.finish(task, None, error)
            return
        future.add_done_callback(lambda f: self._finish_future(task, f))

    def _finish_future(self, task: Task, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self.finish(task, None, concurrent.futures.CancelledError(f"{task.name} was cancelled"))
            return
        error = future.exception()
        self.finish(task, None if error else future.result(), error)

    def finish(self, task: Task, value: Any, error: BaseException | None) -> None:
        """Record the outcome of ``task`` and start whatever it unblocked."""
        if not task.ended:
            task.ended = time.perf_counter()
        schedule = task.schedule
        with self.lock:
            if error is None:
                task.value = value
                task.state = TaskState.DONE
            else:
                task.error = error
                task.state = TaskState.FAILED
            to_start = schedule._finished(task)
        if schedule.listener is not None:
            self._notify(schedule, "error" if error is not None else "end", task)
        if to_start:
            self.start_all(to_start)

    @staticmethod
    def _notify(schedule: Schedule, event: str, task: Task) -> None:
        listener = schedule.listener
        if listener is None:
            return
        try:
            listener(event, task)
        except Exception as error:  # a hook must never change a result
            import logging

            logging.getLogger("ember.xcs").warning(
                "ember.xcs hook raised %s on %s of %s; ignored", error, event, task.name
            )


_default_engine: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The one engine of this process."""
    global _default_engine
    if _default_engine is None:
        with _default_lock:
            if _default_engine is None:
                _default_engine = Engine()
    return _default_engine
