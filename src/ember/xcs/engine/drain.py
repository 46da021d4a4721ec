"""``Drain``: per thread, the loop that starts work unblocked while a body finishes.

``Engine.start_all`` starts tasks in a loop; tasks made ready meanwhile (a body that
finished, reporting its dependents) are added to the loop's ``pending`` list instead of
being started by a nested call, so long chains never recurse. Code that runs in the
middle of that loop and may wait for new work of its own — an op body, a hook — must
run with the loop set aside (``active`` off), or the work it waits for would sit in
``pending`` behind it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task

__all__ = ["Drain"]


class Drain(threading.local):
    """Per thread: whether a drain loop runs here, the tasks it still has to start, and
    whether this thread is reporting a finished body (then it may take a follow-up)."""

    active = False
    pending: list[Task] | None = None
    finishing = False

    def set_aside(self) -> tuple[bool, list[Task] | None, bool]:
        """Suspend this thread's drain loop; returns what ``restore`` takes."""
        saved = self.active, self.pending, self.finishing
        self.active, self.pending, self.finishing = False, None, False
        return saved

    def restore(self, saved: tuple[bool, list[Task] | None, bool]) -> None:
        """Resume the drain loop that ``set_aside`` suspended."""
        self.active, self.pending, self.finishing = saved
