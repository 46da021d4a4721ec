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

__all__ = ["Drain", "Drains", "Saved"]


Saved = tuple[bool, list["Task"] | None, bool, bool]


class Drain:
    """One thread's drain state: whether a drain loop runs here, the tasks it still has to
    start, whether this thread is reporting a finished body (then it may take a
    follow-up), and whether a drain loop of this thread is suspended under the code
    running now (``paused``: tasks it has yet to start may hold slots that code would
    wait for). Plain slots, reached through ``Drains`` once per use: each field of a
    ``threading.local`` costs a per-thread dictionary lookup, on every op."""

    __slots__ = ("active", "finishing", "paused", "pending")

    def __init__(self) -> None:
        self.active = False
        self.pending: list[Task] | None = None
        self.finishing = False
        self.paused = False

    def set_aside(self) -> Saved:
        """Suspend this thread's drain loop; returns what ``restore`` takes."""
        saved = self.active, self.pending, self.finishing, self.paused
        self.paused = self.paused or self.active
        self.active, self.pending, self.finishing = False, None, False
        return saved

    def restore(self, saved: Saved) -> None:
        """Resume the drain loop that ``set_aside`` suspended."""
        self.active, self.pending, self.finishing, self.paused = saved


class Drains(threading.local):
    """Per thread: its ``Drain`` (``drain``), made on the thread's first use."""

    def __init__(self) -> None:
        self.drain = Drain()
