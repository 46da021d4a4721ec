"""The scheduler state of one run (a jitted call or a graph execution) and its transitions.

A ``Run`` holds the tasks of one call in program order and, for each, what it still
waits for. Transitions (``add``, ``finish``, ``grant``, ``stop``) change the state and
return the tasks that may start now; they never run user code, start threads or touch
an event loop. The drivers in ``engine.driver`` carry those results out. Each run has
one lock and every transition runs under it ("mutates; run atomically", as in Dask's
local scheduler). Work a transition leaves for the driver besides starting tasks sits
in ``Run.outbox`` (limit slots handed to waiting tasks, coroutine tasks to cancel,
callbacks to call), which the driver empties after releasing the lock.

Life of a task::

    PENDING --last input done--> [QUEUED --slot free-->] RUNNING --> DONE | FAILED
    PENDING --an input failed or was cancelled--> UPSTREAM
    PENDING | QUEUED | RUNNING --failure before it, timeout, interrupt--> CANCELLED

``QUEUED`` means the inputs exist but the run's ``cap`` (``Config.max_workers``) or a
process-wide ``Limit`` (``op(max_concurrency=...)``) has no free slot. Lifted tasks
(cheap pure operations on lazy values) never queue. A failed task that is not
``eager`` becomes the run's ``failure`` if it comes first in program order; tasks after
it that have not started are cancelled, because plain Python would never have reached
them, and so are running coroutine ops (``on_loop``): they stop at their next ``await``.

For example, a fan-out of two ops feeding a join, with the first op finished::

    #0 llm(q)       DONE       value='a'
    #1 llm(q2)      RUNNING
    #2 join(#0,#1)  PENDING    waiting=1
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ember.xcs.engine.interruptible import wait_slice
from ember.xcs.engine.outbox import Outbox
from ember.xcs.engine.task import FINAL, Task, TaskState
from ember.xcs.ir.graph import NodeKind

_FINAL = FINAL
_LIFTED = NodeKind.LIFTED
# Module constants: an enum member read through its class costs ~10x on 3.11.
_PENDING = TaskState.PENDING
_QUEUED = TaskState.QUEUED
_RUNNING = TaskState.RUNNING
_DONE = TaskState.DONE
_FAILED = TaskState.FAILED
_UPSTREAM = TaskState.UPSTREAM
_CANCELLED = TaskState.CANCELLED
_NO_TASKS: tuple[Task, ...] = ()

__all__ = ["Outbox", "Run", "RunStopped"]


class RunStopped(Exception):
    """A wait ended because the run was stopped (its deadline passed, or it was cancelled)."""


class Run:
    """The state of one run (see the module docstring). All fields are guarded by ``lock``.

    Args:
        cap: at most this many op bodies of the run at once (``None``: no cap).
        timeout: seconds from now after which waits stop the run.
        executor: where op bodies run (``"thread"``, ``"sync"``, ``"process"`` or an
            executor object); read by the driver.
        listener: ``listener(event, task)`` for ``"start"``, ``"end"``, ``"error"``.
    """

    def __init__(self, *, cap: int | None = None, timeout: float | None = None,
                 executor: Any = "thread",
                 listener: Callable[[str, Task], None] | None = None) -> None:
        self.lock = threading.Lock()
        self._changed: threading.Condition | None = None  # made by the first waiter
        self.cap = cap
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self.executor = executor
        self.listener = listener
        self.tasks: list[Task] = []
        self.running = 0
        self.queue: deque[Task] = deque()
        self.failure: Task | None = None
        self.stopped: str | None = None
        self.abandoned: list[str] = []  # the op bodies running when it stopped, by name
        self.unfinished = 0
        self.watching_all = 0  # threads in wait_all(): woken when nothing is unfinished
        self.watching_each = 0  # threads in wait_all(before=...): woken on every change
        self.outbox = Outbox()

    # -- transitions (call with self.lock held) -------------------------------------

    def add(self, task: Task) -> list[Task]:
        """A new task; returns ``[task]`` if it can start now.

        ``task.id`` is its position in program order: the number of tasks added before
        it, unless the caller set it (a graph execution submits nodes out of order).
        """
        if task.id < 0:
            task.id = len(self.tasks)
        self.tasks.append(task)
        self.unfinished += 1
        if self.stopped is not None or (self.failure is not None
                                        and task.id > self.failure.id):
            self._end(task, _CANCELLED)  # plain Python would never get here
            return []
        for dep in task.deps:
            state = dep.state
            if state is _DONE:
                continue
            if state >= _FINAL:
                task.upstream = dep.root_failure
                self._end(task, _UPSTREAM)
                return []
            if dep.dependents is None:
                dep.dependents = []
            dep.dependents.append(task)
            task.waiting += 1
        if task.waiting:
            return []
        return self._ready(task)

    def finish(self, task: Task, value: Any, error: BaseException | None) -> list[Task]:
        """``task``'s body returned ``value`` or raised ``error``; returns tasks to start.

        An outcome for a task that is no longer running (it was abandoned after a
        timeout or an interrupt) is dropped.
        """
        if task.state is not _RUNNING:
            return []
        to_start: list[Task] = []
        dependents = task.dependents or _NO_TASKS
        task.dependents = None
        if error is None:
            task.value = value
            self._end(task, _DONE)
            for dependent in dependents:
                if dependent.state is _PENDING:
                    dependent.waiting -= 1
                    if dependent.waiting == 0:
                        to_start += self._ready(dependent)
        elif (self.failure is not None and task.id > self.failure.id
              and _is_cancellation(error)):
            self._end(task, _CANCELLED)  # cancelled by _cancel_after after a failure
        else:
            task.error = error
            self._end(task, _FAILED)
            for dependent in dependents:
                self._upstream(dependent, task)
            if not task.eager and (self.failure is None or task.id < self.failure.id):
                # Cancel first, so that the slot released below cannot start work that
                # plain Python would never have reached.
                self.failure = task
                self._cancel_after(task.id)
                self._notify()  # waiters re-check: the run has failed
        if task.kind is not _LIFTED:
            self._release_slot(task, to_start, was_running=True)
        return to_start

    def grant(self, task: Task) -> list[Task]:
        """A ``Limit`` handed ``task`` a slot; returns ``[task]`` if it starts now."""
        # Cancelled meanwhile, or it must wait for a worker (``cap``; a body running
        # meanwhile may wait for this slot): the slot passes on.
        if task.state is not _QUEUED or (self.cap is not None and self.running >= self.cap):
            waiter = task.limit.release() if task.limit is not None else None
            if waiter is not None:
                self.outbox.grant(waiter)
            if task.state is _QUEUED:
                self.queue.append(task)  # it takes a slot again once it has a worker
            return []
        task.holds_limit = True
        self.running += 1
        task.state = _RUNNING
        return [task]

    def stop(self, reason: str) -> None:
        """Stop the run (timeout, interrupt, caller gone): cancel everything not finished.

        Running op bodies are abandoned: their slots are released now and their
        eventual outcome is dropped; coroutine tasks are handed to the driver
        (``outbox.abandoned``) to be cancelled.
        """
        if self.stopped is not None:
            return
        self.stopped = reason
        for task in self.tasks:  # queued first, so that no released slot starts one of them
            if task.state is _QUEUED:
                self._end(task, _CANCELLED)
        self.queue.clear()
        released: list[Task] = []
        now = time.perf_counter()
        for task in self.tasks:
            if task.state is _RUNNING and task.kind is not _LIFTED:
                self._release_slot(task, released)
                self.outbox.abandon(task)
                if task.started and not task.ended:  # its op time ends now (for stats)
                    self.abandoned.append(task.name)
                    task.ended = now
            if not task.final:
                self._end(task, _CANCELLED)
        self._notify()

    # -- waiting (each takes the lock itself) ---------------------------------------

    def wait(self, task: Task) -> None:
        """Block until ``task`` is final.

        Raises:
            RunStopped: the deadline passed or the run was stopped.
        """
        if task.state >= _FINAL:
            return
        with self.lock:
            task.waited = True
            while task.state < _FINAL:
                self._wait_locked()

    def wait_all(self, before: int | None = None) -> None:
        """Block until every task (with ``id < before``, when given) is final.

        Raises:
            RunStopped: the deadline passed or the run was stopped.
        """
        with self.lock:
            if before is None:
                self.watching_all += 1
                try:
                    while self.unfinished:
                        self._wait_locked()
                finally:
                    self.watching_all -= 1
                return
            self.watching_each += 1
            try:
                while not all(t.state >= _FINAL for t in self.tasks if t.id < before):
                    self._wait_locked()
            finally:
                self.watching_each -= 1

    def earliest_failure(self) -> Task | None:
        """The failed task plain Python would have met first, once that is certain.

        Waits for every task issued before the current failure: one of them may still
        fail, and then it is the one to report.
        """
        while True:
            failure = self.failure
            if failure is None:
                return None
            self.wait_all(before=failure.id)
            if self.failure is failure:
                return failure

    def on_final(self, task: Task, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the driver, outside the lock) once ``task`` is final."""
        with self.lock:
            if task.state < _FINAL:
                if task.callbacks is None:
                    task.callbacks = []
                task.callbacks.append(callback)
                return
        callback()

    def _wait_locked(self) -> None:
        if self.stopped is not None:
            raise RunStopped(self.stopped)
        remaining = None
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.stop("timeout")
                raise RunStopped("timeout")
        changed = self._changed
        if changed is None:
            changed = self._changed = threading.Condition(self.lock)
        changed.wait(wait_slice(remaining))

    # -- helpers (lock held) --------------------------------------------------------

    def _ready(self, task: Task) -> list[Task]:
        if task.kind is _LIFTED:
            task.state = _RUNNING
            return [task]
        if self.cap is not None and self.running >= self.cap:
            task.state = _QUEUED
            self.queue.append(task)
            return []
        limit = task.limit
        if limit is not None and not limit.acquire(task):
            task.state = _QUEUED
            return []
        task.holds_limit = limit is not None
        self.running += 1
        task.state = _RUNNING
        return [task]

    def _release_slot(self, task: Task, to_start: list[Task], was_running: bool = False) -> None:
        if not was_running and task.state is not _RUNNING:
            return
        self.running -= 1
        if task.holds_limit:
            task.holds_limit = False
            assert task.limit is not None, "only a task with a limit holds one"
            waiter = task.limit.release()
            if waiter is not None:
                self.outbox.grant(waiter)
        while self.queue and (self.cap is None or self.running < self.cap):
            queued = self.queue.popleft()
            if queued.state is not _QUEUED:
                continue
            if queued.limit is None or queued.limit.acquire(queued):
                queued.holds_limit = queued.limit is not None
                self.running += 1
                queued.state = _RUNNING
                to_start.append(queued)

    def _end(self, task: Task, state: TaskState) -> None:
        """Make ``task`` final (it counted as unfinished until now)."""
        if task.state is _QUEUED and task.limit is not None and not task.holds_limit:
            task.limit.withdraw(task)
        task.state = state
        self.unfinished -= 1
        if state is not _DONE:
            task.args = task.kwargs = None  # nothing will read them: let them go now
        if task.callbacks:
            self.outbox.call(task.callbacks)
            task.callbacks = None
        if task.waited or self.watching_each or (self.watching_all and not self.unfinished):
            self._notify()

    def _notify(self) -> None:
        changed = self._changed
        if changed is not None:
            changed.notify_all()

    def _upstream(self, task: Task, failed: Task) -> None:
        if task.state >= _FINAL:
            return
        task.upstream = failed.root_failure
        dependents = task.dependents or _NO_TASKS
        task.dependents = None
        self._end(task, _UPSTREAM)
        for dependent in dependents:
            self._upstream(dependent, task)

    def _cancel_after(self, index: int) -> None:
        """A failure at ``index``: what plain Python would not have reached stops.

        Tasks not started yet are cancelled. Running coroutine ops are cancelled on the
        loop (as ``asyncio.TaskGroup`` does) and become final once they have stopped;
        running blocking bodies cannot be interrupted and finish. The call waits for
        both, so nothing of it runs after it raised.
        """
        for task in self.tasks:
            if task.id <= index:
                continue
            state = task.state
            if state is _PENDING or state is _QUEUED:
                self._end(task, _CANCELLED)
            elif state is _RUNNING and task.handle is not None and on_loop(task):
                self.outbox.abandon(task)

    def cancelled_by_failure(self, task: Task) -> bool:
        """Whether ``task`` comes after the run's failure (a coroutine op checks this
        once it runs: a failure may have come before its handle was set)."""
        failure = self.failure
        return failure is not None and task.id > failure.id

    def detach(self) -> None:
        """The call is over: forget its tasks.

        Every task points at its run; were the run to keep pointing back at them, a
        call's tasks would form one reference cycle, left to the cyclic garbage
        collector (a call of 100,000 ops would make the next call pay for collecting
        it). Outcomes that still arrive for abandoned tasks are dropped as before.
        """
        self.tasks = []

    def ops(self) -> Iterable[Task]:
        """The op tasks of the run (not lifted), in program order."""
        return (t for t in self.tasks if t.kind is not _LIFTED)


def on_loop(task: Task) -> bool:
    """Whether ``task`` runs as a coroutine on the engine's event loop (cancellable)."""
    op = task.op
    return (task.run.executor == "thread" and op is not None
            and (op.is_coroutine or op.async_fn is not None))


def _is_cancellation(error: BaseException) -> bool:
    """Whether ``error`` is asyncio's ``CancelledError`` (no asyncio imported: none)."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(error, asyncio.CancelledError)
