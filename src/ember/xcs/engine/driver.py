"""The engine: carries out what the run state decides, on threads, an event loop or executors.

``Engine.submit`` adds a task to its run and starts it if it can; ``Engine.report``
records a body's outcome and starts whatever became ready. Where a body runs:

- lifted tasks (``x["k"]``, an f-string over lazy values) run inline, in whichever
  thread finished their last input;
- ops with an async path (``async def`` ops, ops with ``async_fn``, the built-in model
  providers) run as tasks on the engine's event loop: no thread per call in flight;
- other ops run on the ``ThreadPool`` (blocking I/O), or inline once they have proved
  to take microseconds (``Op.runs_inline``);
- with ``executor="sync"`` every body runs in the thread that readies it; with
  ``"process"`` or an executor object (``DaskExecutor``), bodies are submitted there.

Work unblocked while a body finishes is started by the same thread through a drain loop
(``engine.drain``), so long chains never recurse; a pool thread that finishes an op runs
a blocking follow-up op itself instead of handing it to another thread.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import sys
import threading
import time
from typing import Any

from ember.xcs.engine import pool
from ember.xcs.engine.arguments import argument_changed, changed_in_place, originals, resolve, watch
from ember.xcs.engine.bodies import async_body, body, twin_error
from ember.xcs.engine.drain import Drain, Drains
from ember.xcs.engine.loop import EventLoop, shared_loop
from ember.xcs.engine.notify import abandoned_error, notify, notify_end
from ember.xcs.engine.slots import Limits, for_task, hold, use_owner
from ember.xcs.engine.state import Run, on_loop
from ember.xcs.engine.task import Limit, OwningRun, Task, TaskState
from ember.xcs.engine.threads import ThreadPool
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing import context as trace_context

__all__ = ["Engine", "default_engine"]

_LIFTED = NodeKind.LIFTED
# Module constants: an enum member read through its class costs ~10x on 3.11.
_RUNNING = TaskState.RUNNING


class Engine:
    """Process-wide execution resources: the thread pool, the event loop, the limits."""

    def __init__(self, threads: ThreadPool | None = None, loop: EventLoop | None = None) -> None:
        self.threads = threads if threads is not None else ThreadPool()
        self.loop = loop if loop is not None else shared_loop()
        self.limits = Limits()
        self._drains = Drains()
        self._processes = pool.SharedProcessPool()

    @property
    def _drain(self) -> Drain:
        return self._drains.drain  # this thread's (engine.drain)

    # -- setting up tasks -------------------------------------------------------------

    def submit(self, task: Task) -> None:
        """Add ``task`` to its run; start it now if its inputs exist."""
        run = task.run
        op = task.op
        if op is not None and op.max_concurrency is not None:
            task.limit = for_task(self.limits.of(op))
        # The caller's context now: op bodies and lifted calls (np.seterr, Decimal) read it,
        # and the exception it is handling (sys.exc_info() in the body: engine.bodies).
        task.context, task.handling = contextvars.copy_context(), sys.exception()
        if task.limit is not None:  # calls its body makes of ops in its group use its slot
            task.context.run(hold, task.limit)
        with run.lock:
            to_start = run.add(task)
        if run.outbox.pending:
            to_start += self._carry_out(run)
        if to_start:
            if len(to_start) == 1 and not self._drains.drain.active:
                self._start(to_start[0])  # the common case: no drain loop needed
            else:
                self.start_all(to_start)

    # -- outcomes ---------------------------------------------------------------------

    def report(self, task: Task, value: Any, error: BaseException | None) -> None:
        """Record the outcome of ``task``'s body and start whatever it unblocked.

        Hooks hear of the outcome before the task becomes final, so that no hook event
        of a node can arrive after its call has ended.
        """
        if not task.ended:
            task.ended = time.perf_counter()
        run = task.run
        if run.listener is not None and task.kind is not _LIFTED \
                and task.state is _RUNNING:
            task.value, task.error = value, error  # what the event reports
            notify_end(run, "error" if error is not None else "end", task, self._drain)
        task.context = task.handling = None  # what the body ran in: not kept after it
        copied, task.copied = task.copied, None
        if copied is not None and error is None:
            value = originals(value, copied)  # `r is rows` when the body returned rows
        if error is None and task.op is not None:
            task.op.last_type = type(value)  # what lifted attribute reads go by (Lazy)
        with run.lock:
            to_start = run.finish(task, value, error)
        if run.outbox.pending:
            to_start += self._carry_out(run)
        if to_start:
            self.start_all(to_start)

    def stop(self, run: Run, reason: str) -> None:
        """Stop ``run``: cancel what has not started, abandon what is running."""
        with run.lock:
            run.stop(reason)
        self._carry_out(run)

    def wait(self, task: Task) -> None:
        """Block until ``task`` is final (raises ``RunStopped`` when the run stops)."""
        try:
            task.run.wait(task)
        finally:
            if task.run.outbox.pending:
                self.start_all(self._carry_out(task.run))

    def wait_all(self, run: Run, before: int | None = None) -> None:
        """Block until every task of ``run`` (before ``before``) is final."""
        try:
            run.wait_all(before)
        finally:
            if run.outbox.pending:
                self.start_all(self._carry_out(run))

    def earliest_failure(self, run: Run) -> Task | None:
        """``run.earliest_failure()``, carrying out what the waits left behind."""
        try:
            return run.earliest_failure()
        finally:
            if run.outbox.pending:
                self.start_all(self._carry_out(run))

    def _carry_out(self, run: OwningRun) -> list[Task]:
        """Do what the run's transitions left in its outbox; returns tasks to start.

        A task granted a slot may pass it on at once (``Run.grant``), to a task of this
        run or of another: the loop goes on until no run it touched has work left.
        """
        to_start: list[Task] = []
        runs = [run]
        while runs:
            current = runs.pop()
            with current.lock:
                grants, abandoned, callbacks = current.outbox.take()
            for waiter in grants:  # a limit slot passed to a task of some run
                other = waiter.run
                with other.lock:
                    started = other.grant(waiter)
                if other is run:
                    to_start += started
                elif started:
                    self.start_all(started)
                if other.outbox.pending:
                    runs.append(other)
            for task in abandoned:
                # Hooks: one the run stopped ends now; a running one reports its own end.
                if task.run.listener is not None and task.state is not _RUNNING:
                    task.error = task.error or abandoned_error(task)
                    notify_end(task.run, "error", task, self._drain)
                handle = task.handle
                if handle is not None and hasattr(handle, "cancel"):
                    try:
                        self.loop.cancel_once(handle)
                    except RuntimeError:
                        pass  # the loop is closed: nothing left to cancel
            for callback in callbacks:
                callback()
        return to_start

    def give_back(self, limit: Limit) -> None:
        """Release a slot of ``limit`` that a call outside any run held (``engine.slots``)."""
        waiter = limit.release()
        if waiter is not None:
            with waiter.run.lock:
                waiter.run.outbox.grant(waiter)
            self.start_all(self._carry_out(waiter.run))

    def may_wait(self) -> bool:
        """Whether this thread may block for a limit slot (``engine.slots``)."""
        return not self._drain.paused

    # -- starting bodies ----------------------------------------------------------------

    def start_all(self, tasks: list[Task]) -> None:
        """Start ``tasks``; tasks unblocked meanwhile are started by the same loop."""
        drain = self._drains.drain
        if drain.active:
            if drain.pending is None:
                drain.pending = []
            drain.pending.extend(tasks)
            return
        drain.active = True
        try:
            batch: list[Task] | None = tasks
            while batch:
                drain.pending = None
                for task in batch:
                    self._start(task)
                batch = drain.pending
        finally:
            drain.active = False
            drain.pending = None

    def _start(self, task: Task) -> None:
        if task.state is not _RUNNING:
            return
        if task.kind is _LIFTED:
            self._execute(task)
            return
        executor = task.run.executor
        op = task.op
        if op is not None and op.effect and executor != "sync":
            executor = "thread"  # it changes the caller's objects: run it in this process
        if executor == "thread":
            if on_loop(task) and self.loop.available():  # none at interpreter shutdown
                self._start_on_loop(task)
            elif op is None or op.runs_inline or task.inline:
                self._execute(task)
            elif not (self._drains.drain.finishing
                      and self.threads.continue_here(lambda: self._execute(task))):
                self.threads.run(lambda: self._execute(task))
        elif executor == "sync":
            self._execute(task)
            run = task.run  # no wait notices a deadline: the bodies ran right here
            if isinstance(run, Run) and run.deadline and time.monotonic() > run.deadline:
                self.stop(run, "timeout")
        else:
            target = (self.process_pool(task.op if task.op is not None else task.fn)
                      if executor == "process" else executor)
            self._start_on_executor(task, target)

    def _execute(self, task: Task) -> None:
        """Run ``task``'s body in this thread and report the outcome."""
        if task.state is not _RUNNING:
            return
        run, drain = task.run, self._drains.drain
        saved = drain.active, drain.pending, drain.finishing, drain.paused  # set_aside, inline
        drain.active, drain.pending, drain.finishing, drain.paused = False, None, False, \
            drain.paused or drain.active
        # No trace while a body runs: it calls ops plainly, or starts its own trace.
        local = trace_context._local
        trace, plain = local.trace, local.plain
        local.trace, local.plain = None, local.disabled > 0
        error: BaseException | None = None
        value: Any = None
        try:
            if run.listener is not None and task.kind is not _LIFTED:
                notify(run, "start", task, drain)
            args, kwargs = resolve(task)
            watched = watch(task, args, kwargs)
            call = body(task)
            task.started = time.perf_counter()
            if task.context is not None:
                value = task.context.run(call, *args, **kwargs)
            else:
                value = call(*args, **kwargs)
            if watched is not None and (changed := changed_in_place(watched)) is not None:
                error = argument_changed(task, changed)
        except BaseException as caught:
            error = caught
        if not task.ended:  # set when its run stopped and abandoned it (Run.stop)
            task.ended = time.perf_counter()
        local.trace, local.plain = trace, plain
        drain.active, drain.pending, finishing, drain.paused = saved  # drain.restore(saved)
        if error is None and task.op is not None:
            task.op.observe(task.ended - task.started)
        # A pool thread that finished its body may run one blocking follow-up itself
        # (never while a body is still running on it: that body would wait forever).
        drain.finishing = True
        try:
            self.report(task, value, error)
        finally:
            drain.finishing = finishing

    def _start_on_loop(self, task: Task) -> None:
        if task.run.listener is not None:
            # Before the task exists: a hook may enter the body's context, which the
            # asyncio task will have entered once it runs.
            notify(task.run, "start", task, self._drain)
        self.loop.start(self._run_on_loop, task, task.context)

    async def _run_on_loop(self, task: Task) -> None:
        """An async op body, as an asyncio task on the engine's loop."""
        asyncio = sys.modules["asyncio"]  # imported: this runs on an event loop

        value: Any = None
        error: BaseException | None = None
        try:
            if task.state is not _RUNNING:
                return
            task.handle = asyncio.current_task()  # what stopping the run cancels
            if task.run.cancelled_by_failure(task):
                raise asyncio.CancelledError  # an earlier op failed before the handle was set
            call = async_body(task)
            args, kwargs = resolve(task)
            watched = watch(task, args, kwargs)
            task.started = time.perf_counter()
            value = await call(*args, **kwargs)
            if watched is not None and (changed := changed_in_place(watched)) is not None:
                error = argument_changed(task, changed)
        except BaseException as caught:  # CancelledError included: reported as such
            error = twin_error(task, caught)
        if not task.ended:  # set when its run stopped and abandoned it (Run.stop)
            task.ended = time.perf_counter()
        self.report(task, value, error)

    def _start_on_executor(self, task: Task, executor: Any) -> None:
        task.started = time.perf_counter()
        if task.run.listener is not None:
            notify(task.run, "start", task, self._drain)
        try:
            future, sent = pool.submit_task(executor, task)
        except BaseException as error:
            if pool.is_broken_pool_error(error):
                self._processes.retire(executor)
            self.report(task, None, error)
            return
        task.handle = future
        # The callback lets go of the task once it fired: an executor may keep a finished
        # future (Dask keeps failed ones), and with it the task and its outcome.
        holder = [task]

        def finished(done: concurrent.futures.Future[Any]) -> None:
            if holder:
                self._finish_future(holder.pop(), done, executor, sent)

        future.add_done_callback(finished)

    def _finish_future(self, task: Task, future: concurrent.futures.Future[Any],
                       executor: Any, sent: Any) -> None:
        if future.cancelled():
            self.report(task, None,
                        concurrent.futures.CancelledError(f"{task.name} was cancelled"))
            return
        error = future.exception()
        error = pool.replay_output(error)  # what an op that raised in a worker printed
        if pool.is_broken_pool_error(error):
            assert error is not None
            pool.note_broken_pool(error, task.name)
            self._processes.retire(executor)
        value = None if error is not None else future.result()
        if type(value) is pool.Pickled:  # from a process worker (engine.pool)
            try:
                value = value.load(sent)
            except Exception as failure:
                value, error = None, failure
        self.report(task, value, error)

    def process_pool(self, body: Any = None) -> concurrent.futures.ProcessPoolExecutor:
        """The shared process pool behind ``Config(executor="process")`` (a new one once
        a worker of the last one died, or ``body`` is new in ``__main__``)."""
        return self._processes.get(body)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The one engine of this process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Engine()
    return _default


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's engine, so the child builds its own.

    A process pool forks: the child gets copies of the parent's thread pool and loop
    objects, whose counts speak of threads that do not exist in the child (only the
    forking thread survives a fork). Jitted code run there would queue work no thread
    takes, and wait forever. The child starts afresh instead, on first use. The forking
    thread may have been inside a trace (an op started under ``@jit``): the child runs
    the op body in that thread, so the parent's trace must not stay current there, or
    jitted code in the body would record into the parent's run.
    """
    global _default, _default_lock
    _default = None
    _default_lock = threading.Lock()  # it may have been held by another parent thread
    trace_context.swap(None)


os.register_at_fork(after_in_child=_forget_after_fork)
use_owner(default_engine)  # ops called outside a trace take their limits here

