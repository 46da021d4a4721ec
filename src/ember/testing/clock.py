"""``FakeClock``: simulated time for testing code that waits (rate limits).

Waiting on a ``FakeClock`` returns at once and moves its time forward to the
deadline, so a test of "60 requests per minute" runs in milliseconds and can still
assert how long the calls would have taken.
"""

from __future__ import annotations

import asyncio
import threading

from ember.models.ratelimit import Clock

__all__ = ["FakeClock"]


class FakeClock(Clock):
    """A clock that starts at ``start`` and moves only when someone waits on it.

    Thread-safe: one lock guards the time. A wait until a deadline moves the time to
    that deadline if it is later (waits never move time back), so concurrent waiters
    end at the latest deadline, as they would in real time.

    Args:
        start: the initial reading of ``monotonic()``.

    Example:
        >>> clock = FakeClock()
        >>> clock.sleep_until(2.5)
        >>> clock.monotonic(), clock.waits
        (2.5, 1)
    """

    def __init__(self, start: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._now = float(start)
        self.waits = 0

    def monotonic(self) -> float:
        """The simulated time, in seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the simulated time forward by ``seconds`` (as if the test itself waited)."""
        with self._lock:
            self._now += max(0.0, seconds)

    def sleep_until(self, deadline: float) -> None:
        """Return at once, with the time moved to ``deadline`` if that is later."""
        with self._lock:
            self.waits += 1
            self._now = max(self._now, deadline)

    async def asleep_until(self, deadline: float) -> None:
        """Move the time like ``sleep_until`` and let other tasks run once."""
        self.sleep_until(deadline)
        await asyncio.sleep(0)
