"""``Outbox``: what a run's transitions leave for the driver besides starting tasks.

Transitions run under the run's lock and never touch other runs, threads or event
loops (``engine.state``). What they decide that needs those — a limit slot handed to a
waiting task of some run, a running coroutine to cancel, callbacks to call — is queued
here, and the driver carries it out after releasing the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task

__all__ = ["Outbox"]


class Outbox:
    """What transitions leave for the driver besides starting tasks (see the module doc)."""

    __slots__ = ("abandoned", "callbacks", "grants", "pending")

    def __init__(self) -> None:
        self.grants: list[Task] = []
        self.abandoned: list[Task] = []
        self.callbacks: list[Callable[[], None]] = []
        self.pending = False  # anything queued (a plain flag: checked after every change)

    def grant(self, waiter: Task) -> None:
        """Queue: a limit slot passed to ``waiter`` (of this run or another)."""
        self.grants.append(waiter)
        self.pending = True

    def abandon(self, task: Task) -> None:
        """Queue: cancel ``task``'s running coroutine."""
        self.abandoned.append(task)
        self.pending = True

    def call(self, callbacks: list[Callable[[], None]]) -> None:
        """Queue: run ``callbacks`` outside the lock."""
        self.callbacks += callbacks
        self.pending = True

    def take(self) -> tuple[list[Task], list[Task], list[Callable[[], None]]]:
        """Everything queued so far (the box is empty afterwards)."""
        taken = self.grants, self.abandoned, self.callbacks
        self.grants, self.abandoned, self.callbacks = [], [], []
        self.pending = False
        return taken
