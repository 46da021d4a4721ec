"""``Task``: one node of one run, and ``Limit``: a process-wide cap some tasks share.

A task is what the run state (``engine.state``) schedules: what to call, with which
arguments (a tree whose ``Task`` leaves are its inputs), and what became of it. Its
fields change only under its run's lock, through the run's transitions.

Tasks sit below the run state: ``engine.state`` builds on this module, never the other
way round. A task's ``run`` is typed by ``OwningRun``, the part of ``state.Run`` that is
reached through a task (by the driver and the tracer); ``Run`` satisfies it
structurally, so the protocol costs nothing at run time.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ember.xcs.ir.graph import NodeKind, SourceLocation

__all__ = ["FINAL", "Limit", "OwningRun", "RunOutbox", "Task", "TaskState", "Waiter"]


class TaskState(enum.IntEnum):
    """Where a task is in its life; from ``DONE`` on the state is final."""

    PENDING = 0
    QUEUED = 1
    RUNNING = 2
    DONE = 3
    FAILED = 4
    UPSTREAM = 5
    CANCELLED = 6


FINAL = TaskState.DONE  # every state from here on is final
_PENDING = TaskState.PENDING  # (an enum member read through its class costs ~4x on 3.11)


class RunOutbox(Protocol):
    """What the driver reads from a run's outbox (``engine.outbox.Outbox``)."""

    @property
    def pending(self) -> bool:
        """Whether anything is queued."""
        ...

    def take(self) -> tuple[list[Task], list[Task], list[Callable[[], None]]]:
        """Everything queued: limit slots granted, tasks to abandon, callbacks to call."""
        ...

    def grant(self, waiter: Task) -> None:
        """Queue: a limit slot passed to ``waiter`` (call with the run's lock held)."""
        ...


class OwningRun(Protocol):
    """The run a task belongs to, as seen through ``task.run`` (``engine.state.Run``).

    The transitions (``add``, ``finish``, ``grant``) are called with ``lock`` held;
    ``wait`` takes it itself (see ``engine.state``).
    """

    @property
    def lock(self) -> threading.Lock:
        """Guards every field of the run and of its tasks."""
        ...

    @property
    def executor(self) -> Any:
        """Where op bodies run: ``"thread"``, ``"sync"``, ``"process"`` or an executor."""
        ...

    @property
    def listener(self) -> Callable[[str, Task], None] | None:
        """``listener(event, task)`` for ``"start"``, ``"end"`` and ``"error"``."""
        ...

    @property
    def outbox(self) -> RunOutbox:
        """What the transitions left for the driver besides tasks to start."""
        ...

    def add(self, task: Task) -> list[Task]:
        """Transition: a new task; returns ``[task]`` if it can start now."""
        ...

    def finish(self, task: Task, value: Any, error: BaseException | None) -> list[Task]:
        """Transition: ``task``'s body ended; returns the tasks to start."""
        ...

    def grant(self, task: Task) -> list[Task]:
        """Transition: a limit slot handed to ``task``; returns the tasks to start."""
        ...

    def wait(self, task: Task) -> None:
        """Block until ``task`` is final (``RunStopped`` when the run stops)."""
        ...

    def cancelled_by_failure(self, task: Task) -> bool:
        """Whether ``task`` comes after the run's failure in program order."""
        ...


class Task:
    """One node of one run: what to call, with what, and what became of it.

    Attributes are changed only by the transitions of ``run`` (under its lock), except
    ``started``/``ended``/``value`` written by the driver right before ``finish``.

    Attributes:
        id: position in program order within the run.
        kind: the node kind (op, tensor or lifted).
        name: display name.
        fn: what a lifted task calls (ops are called through ``op``).
        op: the ``Op`` of an op task.
        args, kwargs: the arguments, a tree whose ``Task`` leaves are inputs (dropped
            once the body has them).
        deps: the distinct tasks this one reads.
        prepare: ``prepare(args, kwargs) -> (args, kwargs)`` run right before the body
            (the tracer uses it to resolve lazy values inside records in place).
        eager: the glue waits for this task at once and sees its exception itself.
        shares: its body gets the objects in its arguments themselves, not copies of the
            containers (an effect in a graph: it runs alone, on the objects it was given).
        copied: ``(copy, original)`` per container of the arguments that the snapshot
            copied (see ``engine.arguments.originals``), or ``None``.
        inline: a sync op the glue waits for at once runs on the glue's own thread, as
            in plain Python (a lock the glue holds, ``threading.local``, signal
            handlers); not under a deadline, which only another thread can keep.
        stop_becomes: where the glue called it, what a ``StopIteration`` from its body
            would have met in plain Python (``tracing.protocols.stop_becomes``); set by
            the tracer as it records the task.
        end_told: the run's listener has heard the task end (``engine.notify``).
        handling: the exception its caller was handling when it was submitted, which
            its body runs inside (``engine.bodies``), or ``None``.
    """

    __slots__ = (
        "args", "callbacks", "context", "copied", "dependents", "deps", "eager", "end_told",
        "ended", "error", "fn", "handle", "handling", "holds_limit", "id", "inline", "kind",
        "kwargs", "limit", "location", "name", "op", "prepare", "run", "shares", "started",
        "state", "stop_becomes", "upstream", "value", "waited", "waiting",
    )

    def __init__(self, run: OwningRun, kind: NodeKind, name: str, fn: Callable[..., Any] | None,
                 args: tuple[Any, ...], kwargs: dict[str, Any], deps: tuple[Task, ...],
                 location: SourceLocation | None = None, op: Any = None, eager: bool = False,
                 prepare: Callable[..., Any] | None = None, shares: bool = False) -> None:
        self.run = run
        self.id = -1
        self.kind = kind
        self.name = name
        self.fn = fn
        self.op = op
        self.args: tuple[Any, ...] | None = args
        self.kwargs: dict[str, Any] | None = kwargs
        self.deps = deps
        self.location = location
        self.eager = eager
        self.shares = shares
        self.prepare = prepare
        self.state = _PENDING
        self.waiting = 0
        self.dependents: list[Task] | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.upstream: Task | None = None
        self.started = 0.0
        self.ended = 0.0
        self.limit: Limit | None = None
        self.holds_limit = False
        self.context: Any = None
        self.handle: Any = None
        self.waited = False
        self.callbacks: list[Callable[[], None]] | None = None
        self.copied: list[tuple[Any, Any]] | None = None
        self.inline = False
        self.stop_becomes: str | None = None
        self.end_told = False
        self.handling: BaseException | None = None

    @property
    def final(self) -> bool:
        """Whether the state will never change again."""
        return self.state >= FINAL

    @property
    def duration(self) -> float:
        """Seconds the body ran (0 if it never ran)."""
        return self.ended - self.started if self.started and self.ended else 0.0

    @property
    def root_failure(self) -> Task:
        """The task whose failure this one stands for (itself, or its failed input)."""
        return self.upstream or self

    def __repr__(self) -> str:
        return f"<Task #{self.id} {self.name} {self.state.name}>"


class Waiter(Protocol):
    """A caller outside any run waiting for a slot of a ``Limit`` (``engine.slots``)."""

    def take(self) -> bool:
        """Hand this waiter a slot; ``False`` if it no longer wants one."""
        ...


class Limit:
    """A process-wide cap on concurrent runs of the ops sharing one ``limit_key``.

    Slots go to the tasks of runs and to calls made outside any run (``engine.slots``);
    both queue in ``waiting``, in order. Guarded by its own lock, always taken after a
    run's lock, never before one.
    """

    __slots__ = ("__weakref__", "active", "lock", "maximum", "waiting")

    def __init__(self, maximum: int) -> None:
        self.lock = threading.Lock()
        self.maximum = maximum
        self.active = 0
        self.waiting: deque[Task | Waiter] = deque()

    def acquire(self, waiter: Task | Waiter) -> bool:
        """Take a slot for ``waiter``, or queue it (``False``) until ``release`` hands one over."""
        with self.lock:
            if self.active < self.maximum:
                self.active += 1
                return True
            self.waiting.append(waiter)
            return False

    def try_acquire(self) -> bool:
        """Take a slot if one is free, without queueing."""
        with self.lock:
            if self.active < self.maximum:
                self.active += 1
                return True
            return False

    def release(self) -> Task | None:
        """Give a slot back; returns the queued task that now holds it, if any.

        The returned task's run must then ``grant`` it (under that run's lock); if it
        was cancelled meanwhile, the run releases the slot again. A waiting caller
        outside any run is handed the slot here.
        """
        with self.lock:
            while self.waiting:
                waiter = self.waiting.popleft()
                if isinstance(waiter, Task):
                    if waiter.state is TaskState.QUEUED:
                        return waiter
                elif waiter.take():
                    return None
            self.active -= 1
            return None

    def withdraw(self, waiter: Task | Waiter) -> bool:
        """Forget a queued waiter that no longer wants a slot; ``False``: it was not
        queued (any more: a slot may have been handed to it)."""
        with self.lock:
            try:
                self.waiting.remove(waiter)
            except ValueError:
                return False
            return True
