"""Helpers for concurrency tests shared by several test modules."""

from __future__ import annotations

import threading
import time


class PeakProbe:
    """Call ``probe.hold(seconds)`` inside an op; ``probe.peak`` is the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def hold(self, seconds: float) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(seconds)
        with self._lock:
            self.active -= 1


def finishes(work, seconds: float = 20.0):
    """Run ``work()`` in a daemon thread; its result, or a test failure if it hangs."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the call did not return within {seconds} s"
    return outcome[0]
