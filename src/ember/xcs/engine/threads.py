"""``ThreadPool``: threads for blocking op bodies, grown on demand and kept warm.

Blocking I/O needs many threads: a fan-out of 5,000 HTTP calls made with a blocking
client waits on the network, not the CPU. Work goes into a C-level queue
(``queue.SimpleQueue``: putting an item costs a fraction of a microsecond and wakes one
waiting thread). A new thread is started whenever more items wait than threads are
idle, up to ``max_threads``; starting threads costs the starter a little, so the
submitting thread starts at most one, and each new worker that still sees work waiting
starts up to two more (a burst of N items gets N threads in about log2(N) rounds).
Idle threads stay for ``idle_timeout`` seconds, so the calls of a burst find them warm;
a quiet process ends up holding no threads.

On CPython 3.11 and 3.12, ``SimpleQueue.get(timeout=...)`` can wait past its timeout,
until the next ``put`` (measured: 0.3 s for a 2 ms timeout when puts paused): a thread
that takes the queue's wake-up just as its timeout ends, while another thread takes the
item, waits again with no time limit. An idle thread of a quiet process could then
outstay its timeout forever. So a thread that leaves wakes another idle thread
(``_WAKE``, which does not count as work): that one exits if its own time is up, and
wakes the next in turn.

A worker that finishes an item may be handed its follow-up directly
(``continue_here``): a chain of dependent blocking ops then runs on one thread without
a hand-off per step.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_MAX_THREADS", "ThreadPool"]

DEFAULT_MAX_THREADS = 512
DEFAULT_IDLE_TIMEOUT = 60.0
_RECHECK = 1.0  # an idle thread looks at the idle timeout at least this often (seconds)

Work = Callable[[], None]


class _WorkerState(threading.local):
    pool: ThreadPool | None = None
    follow_up: Work | None = None


_worker = _WorkerState()


def _forget_after_fork() -> None:
    # The forking thread lives on in the child: if it was a pool worker, the child must
    # not take it for one (continue_here would park work no thread runs).
    global _worker
    _worker = _WorkerState()


os.register_at_fork(after_in_child=_forget_after_fork)
_STOP: Any = object()  # tells one worker to exit (shutdown)
_WAKE: Any = object()  # wakes one idle worker to look at its timeout (not work)


class ThreadPool(concurrent.futures.Executor):
    """A thread pool that grows while every thread is busy and shrinks when idle.

    ``_threads``, ``_idle`` and ``_shutdown`` are guarded by ``_lock``; the queue is
    thread-safe on its own.

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
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Work] = queue.SimpleQueue()
        self._threads = 0
        self._idle = 0
        self._serial = 0
        self._shutdown = False
        self._idle_since: dict[int, float] = {}  # thread ident -> when it last ran an item

    @property
    def thread_count(self) -> int:
        """How many worker threads exist right now."""
        with self._lock:
            return self._threads

    @property
    def queued(self) -> int:
        """How many items wait in the queue (a wake-up counts as one)."""
        return self._queue.qsize()

    def idle_seconds(self) -> dict[str, float]:
        """Per worker thread alive now: seconds since it last finished an item (0 if busy)."""
        now = time.monotonic()
        with self._lock:
            since = dict(self._idle_since)
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        return {names.get(ident, str(ident)): (now - at if at else 0.0)
                for ident, at in since.items()}

    def run(self, work: Work) -> None:
        """Run ``work()`` on a worker thread (no future: the engine's path)."""
        if self._shutdown:
            raise RuntimeError("cannot schedule work after the pool was shut down")
        self._queue.put(work)
        if self._queue.qsize() > self._idle:  # a quick look; _grow checks under the lock
            self._grow(1)
            if self._threads == 0:  # none could start (interpreter shutdown): run it here
                self._run_queued_here()

    def set_idle_timeout(self, seconds: float) -> None:
        """Change how long idle threads wait for work (idle threads that have waited
        longer than ``seconds`` exit within about a second)."""
        with self._lock:
            self.idle_timeout = seconds
            idle = self._idle
        for _ in range(idle):
            self._queue.put(_WAKE)  # idle threads wait anew, with the new timeout

    def continue_here(self, work: Work) -> bool:
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
        with self._lock:
            self._shutdown = True
            threads = self._threads
        if cancel_futures:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        for _ in range(threads):
            self._queue.put(_STOP)

    def _grow(self, most: int) -> None:
        """Start up to ``most`` threads while more items wait than threads are idle."""
        names = []
        with self._lock:
            waiting = self._queue.qsize() - self._idle
            while most > 0 and waiting > 0 and self._threads < self.max_threads:
                self._threads += 1
                self._idle += 1  # counted idle until it takes its first item
                self._serial += 1
                names.append(f"{self._name}-{self._serial}")
                most -= 1
                waiting -= 1
        for started, name in enumerate(names):
            try:
                threading.Thread(target=self._worker, name=name, daemon=True).start()
            except RuntimeError:
                # No new thread: the interpreter is shutting down (3.12 refuses them in
                # atexit handlers), or the system has none left. The threads there are
                # serve the queue; with none, run() runs the work on the caller's.
                with self._lock:
                    self._threads -= len(names) - started
                    self._idle -= len(names) - started
                return

    def _run_queued_here(self) -> None:
        """Run the work waiting in the queue on this thread (no worker could start)."""
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                return
            if work is not _WAKE and work is not _STOP:
                work()

    def _worker(self) -> None:
        state = _worker
        state.pool = self
        ident = threading.get_ident()
        with self._lock:
            self._idle_since[ident] = time.monotonic()
        try:
            self._serve(state, ident)
        finally:  # also when an item raised: the counts stay true
            with self._lock:
                self._threads -= 1
                if self._idle_since.pop(ident) != 0.0:  # it left idle, not from an item
                    self._idle -= 1
                others = self._threads
            follow_up, state.follow_up = state.follow_up, None
            if follow_up is not None:  # handed over by an item that then raised
                self.run(follow_up)
        if others and not self._shutdown:
            self._queue.put(_WAKE)

    def _serve(self, state: _WorkerState, ident: int) -> None:
        """Run items until idle for ``idle_timeout`` seconds, or told to stop."""
        get = self._queue.get
        lock = self._lock
        idle_since = time.monotonic()
        while True:
            try:
                # Waits of at most _RECHECK seconds: a shorter idle timeout set meanwhile
                # takes effect even for a thread that missed set_idle_timeout's wake-up.
                work: Work | None = get(timeout=min(self.idle_timeout, _RECHECK))
            except queue.Empty:
                work = _WAKE
            if work is _WAKE:
                if time.monotonic() - idle_since < self.idle_timeout and not self._shutdown:
                    continue
                with lock:
                    if self._queue.qsize() == 0 or self._shutdown:
                        return
                continue
            if work is _STOP:
                return
            with lock:
                self._idle -= 1
                self._idle_since[ident] = 0.0  # busy
            if self._queue.qsize() > self._idle:
                self._grow(2)
            while work is not None:
                work()
                work, state.follow_up = state.follow_up, None
            idle_since = time.monotonic()
            with lock:
                self._idle += 1
                self._idle_since[ident] = idle_since
            # Nothing of the last item stays referenced while this thread idles.
            del work
