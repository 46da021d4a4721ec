"""``Task``: one node of one run, and ``Limit``: a process-wide cap some tasks share.

A task is what the run state (``engine.state``) schedules: what to call, with which
arguments (a tree whose ``Task`` leaves are its inputs), and what became of it. Its
fields change only under its run's lock, through the run's transitions.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.xcs.ir.graph import NodeKind, SourceLocation

if TYPE_CHECKING:
    from ember.xcs.engine.state import Run

__all__ = ["FINAL", "Limit", "Task", "TaskState"]


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
    """

    __slots__ = (
        "args", "callbacks", "context", "dependents", "deps", "eager", "ended", "error",
        "fn", "handle", "holds_limit", "id", "kind", "kwargs", "limit", "location", "name",
        "op", "prepare", "run", "started", "state", "upstream", "value", "waited", "waiting",
    )

    def __init__(self, run: Run, kind: NodeKind, name: str, fn: Callable[..., Any] | None,
                 args: tuple[Any, ...], kwargs: dict[str, Any], deps: tuple[Task, ...],
                 location: SourceLocation | None = None, op: Any = None, eager: bool = False,
                 prepare: Callable[..., Any] | None = None) -> None:
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
        self.prepare = prepare
        self.state = TaskState.PENDING
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


class Limit:
    """A process-wide cap on concurrent runs of the ops sharing one ``limit_key``.

    Guarded by its own lock, always taken after a run's lock, never before one.
    """

    __slots__ = ("__weakref__", "active", "lock", "maximum", "waiting")

    def __init__(self, maximum: int) -> None:
        self.lock = threading.Lock()
        self.maximum = maximum
        self.active = 0
        self.waiting: deque[Task] = deque()

    def acquire(self, task: Task) -> bool:
        """Take a slot for ``task``, or queue it (``False``) until ``release`` hands one over."""
        with self.lock:
            if self.active < self.maximum:
                self.active += 1
                return True
            self.waiting.append(task)
            return False

    def release(self) -> Task | None:
        """Give a slot back; returns the queued task that now holds it, if any.

        The returned task's run must then ``grant`` it (under that run's lock); if it
        was cancelled meanwhile, the run releases the slot again.
        """
        with self.lock:
            while self.waiting:
                task = self.waiting.popleft()
                if task.state is TaskState.QUEUED:
                    return task
            self.active -= 1
            return None

    def withdraw(self, task: Task) -> None:
        """Forget a queued task that no longer wants a slot."""
        with self.lock:
            try:
                self.waiting.remove(task)
            except ValueError:
                pass
