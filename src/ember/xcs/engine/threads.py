"""``ThreadPool``: threads for blocking op bodies, grown on demand and kept warm.

Blocking I/O needs many threads: a fan-out of 5,000 HTTP calls made with a blocking
client waits on the network, not the CPU. The pool starts a thread whenever work is
waiting and no thread is idle, up to ``max_threads``. Starting a thread costs the
starter a little, so the submitting thread starts at most one and each new worker
that still sees work waiting starts up to two more (a burst of N items gets N threads
in about log2(N) rounds). Idle threads stay for ``idle_timeout`` seconds, so the calls
of a burst find them warm; a quiet process ends up holding no threads.

A worker that finishes an item may be handed its follow-up directly
(``continue_here``): a chain of dependent blocking ops then runs on one thread without
a hand-off per step.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MAX_THREADS", "ThreadPool"]

DEFAULT_MAX_THREADS = 512
DEFAULT_IDLE_TIMEOUT = 60.0


class _WorkerState(threading.local):
    pool: ThreadPool | None = None
    follow_up: Callable[[], None] | None = None


_worker = _WorkerState()


class ThreadPool(concurrent.futures.Executor):
    """A thread pool that grows while every thread is busy and shrinks when idle.

    ``_work``, ``_idle``, ``_threads``, ``_starting`` and ``_shutdown`` are guarded by
    ``_cond``.

    Args:
        max_threads: the most threads at once.
        idle_timeout: seconds an idle thread waits for work before it exits.
        name: thread name prefix.
    """

    def __init__(self, max_threads: int = DEFAULT_MAX_THREADS,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, name: str = "ember-xcs") -> None:
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
        """Run ``work()`` on a worker thread (no future: the engine's path)."""
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

    def set_idle_timeout(self, seconds: float) -> None:
        """Change how long idle threads wait for work (idle threads re-check at once)."""
        with self._cond:
            self.idle_timeout = seconds
            self._cond.notify_all()

    def continue_here(self, work: Callable[[], None]) -> bool:
        """Run ``work`` next on this worker thread, if this is one of ours with no follow-up yet."""
        state = _worker
        if state.pool is not self or state.follow_up is not None:
            return False
        state.follow_up = work
        return True

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
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

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                self._work.clear()
            self._cond.notify_all()

    def _reserve_locked(self) -> str | None:
        if self._threads >= self.max_threads:
            return None
        self._threads += 1
        self._starting += 1
        self._serial += 1
        return f"{self._name}-{self._serial}"

    def _start(self, name: str) -> None:
        threading.Thread(target=self._worker, name=name, daemon=True).start()

    def _worker(self) -> None:
        state = _worker
        state.pool = self
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
                work: Callable[[], None] | None = self._work.popleft()
                waiting = len(self._work) - self._idle - self._starting
                for _ in range(min(2, waiting)):
                    name = self._reserve_locked()
                    if name is None:
                        break
                    names.append(name)
            for name in names:
                self._start(name)
            while work is not None:
                work()
                work, state.follow_up = state.follow_up, None
            # Nothing of the last item stays referenced while this thread idles.
            del work
