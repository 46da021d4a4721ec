"""A probe that measures how many calls run at once (shared by several test modules)."""

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
