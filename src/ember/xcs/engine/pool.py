"""``ElasticThreadPool``: the default executor, which never starves a blocked worker.

A worker that blocks (an op body that starts its own jitted call and waits for it)
does not hold back queued work: whenever work waits and no thread is idle, the pool
starts another thread, up to ``max_threads``. Starting a thread blocks the starter
until the thread runs, so the submitting thread starts at most one; each new worker
that finds more work waiting starts up to two more (a tree, so a burst of N calls
gets N threads in about log2(N) thread starts). Idle threads exit after
``idle_timeout`` seconds, so a quiet process holds no threads.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["ElasticThreadPool"]


class ElasticThreadPool(concurrent.futures.Executor):
    """A thread pool that grows while every thread is busy and shrinks when idle.

    The state (``_work``, ``_idle``, ``_threads``, ``_shutdown``) is guarded by
    ``self._cond``.
    """

    def __init__(
        self, max_threads: int = 512, idle_timeout: float = 2.0, name: str = "ember-xcs"
    ) -> None:
        self.max_threads = max_threads
        self.idle_timeout = idle_timeout
        self._name = name
        self._cond = threading.Condition(threading.Lock())
        self._work: deque[Callable[[], None]] = deque()
        self._idle = 0
        self._threads = 0
        self._serial = 0
        self._starting = 0
        self._shutdown = False

    @property
    def thread_count(self) -> int:
        """How many worker threads exist right now."""
        with self._cond:
            return self._threads

    def run(self, work: Callable[[], None]) -> None:
        """Run ``work()`` on a worker thread; no future (the engine's fast path)."""
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot schedule work after the pool was shut down")
            self._work.append(work)
            if self._idle > 0:
                self._cond.notify()
                return
            if self._starting:
                return  # a thread on its way will take it, and start more if needed
            name = self._reserve_locked()
        if name is not None:
            self._start(name)

    def _reserve_locked(self) -> str | None:
        if self._threads >= self.max_threads:
            return None
        self._threads += 1
        self._starting += 1
        self._serial += 1
        return f"{self._name}-{self._serial}"

    def _start(self, name: str) -> None:
        threading.Thread(target=self._worker, name=name, daemon=True).start()

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # delivered through the future
                future.set_exception(error)
            else:
                future.set_result(result)

        self.run(work)
        return future

    def _worker(self) -> None:
        with self._cond:
            self._starting -= 1
        while True:
            names: list[str] = []
            with self._cond:
                while not self._work:
                    if self._shutdown:
                        self._threads -= 1
                        return
                    self._idle += 1
                    woke = self._cond.wait(self.idle_timeout)
                    self._idle -= 1
                    if not woke and not self._work:
                        self._threads -= 1
                        return
                work = self._work.popleft()
                waiting = len(self._work) - self._idle - self._starting
                for _ in range(min(2, waiting)):
                    name = self._reserve_locked()
                    if name is None:
                        break
                    names.append(name)
            for name in names:
                self._start(name)
            work()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                self._work.clear()
            self._cond.notify_all()
