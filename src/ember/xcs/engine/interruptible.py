"""Waits of the main thread that a signal's handler can interrupt at once.

Python runs a signal's handler in the main thread, between two bytecodes. A signal the
kernel delivers to that thread also ends a blocking wait there (``EINTR``), but one
raised from another thread (``signal.raise_signal`` in a watchdog, a timer thread) or
by ``_thread.interrupt_main()`` does not: until the wait ends, the handler waits too.
In plain Python the main thread returns to bytecode after each op; a jitted call's glue
may wait once for a whole chain of ops, so the engine's waits in the main thread
end every ``SLICE`` seconds and resume (``wait_slice``), and an ``async def`` call on
the main thread's event loop wakes that loop as often (``Heartbeat``): a Ctrl-C raised
that way stops the call within ``SLICE``, and no op of the chain starts after it.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["SLICE", "Heartbeat", "wait_slice"]

SLICE = 0.05  # seconds between two looks at pending signals in the main thread


def wait_slice(remaining: float | None) -> float | None:
    """How long one wait of the calling thread may block, when ``remaining`` is left
    before its deadline (``None``: none): at most ``SLICE`` in the main thread."""
    if not _on_main_thread():
        return remaining
    return SLICE if remaining is None or remaining > SLICE else remaining


def _on_main_thread() -> bool:
    """Whether the calling thread is the one Python runs signal handlers in."""
    return threading.current_thread() is threading.main_thread()


class Heartbeat:
    """Wakes ``loop`` every ``SLICE`` seconds while a call holding one has not stopped,
    when it runs in the main thread (elsewhere, or with no loop, it does nothing):
    between two wake-ups the loop may sleep in ``select`` with no timer at all, waiting
    for op results from XCS's threads. The calls in flight on one loop share one timer
    (``_beats``): a thousand of them wake it as often as one."""

    __slots__ = ("_loop",)

    def __init__(self, loop: Any) -> None:
        self._loop = None
        if loop is None or not _on_main_thread():
            return
        self._loop = loop
        with _lock:
            beat = _beats.get(loop)
            if beat is None:
                beat = _beats[loop] = [0, loop.call_later(SLICE, _beat, loop)]
            beat[0] += 1

    def stop(self) -> None:
        """No more wake-ups for this call (the timer stops with the loop's last one)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        with _lock:
            beat = _beats.get(loop)
            if beat is not None:
                beat[0] -= 1
                if beat[0] <= 0:
                    del _beats[loop]
                    beat[1].cancel()


_lock = threading.Lock()  # guards _beats (a call may stop from another thread at exit)
_beats: dict[Any, list[Any]] = {}  # loop -> [calls holding a Heartbeat on it, its timer]


def _beat(loop: Any) -> None:
    with _lock:
        beat = _beats.get(loop)
        if beat is not None:
            beat[1] = loop.call_later(SLICE, _beat, loop)
