from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import pytest

from ember.xcs.engine.threads import ThreadPool


def test_pool_grows_when_all_workers_block_and_shrinks_when_idle() -> None:
    pool = ThreadPool(idle_timeout=0.2, name="test-pool")
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> None:
        started.release()
        release.wait(5)

    for _ in range(6):
        pool.run(blocked)
    for _ in range(6):
        assert started.acquire(timeout=5), "every blocked task got its own thread"
    assert pool.thread_count >= 6
    release.set()
    deadline = time.monotonic() + 5
    while pool.thread_count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.thread_count == 0


def test_idle_seconds_tells_busy_from_idle_threads() -> None:
    pool = ThreadPool(idle_timeout=0.5, name="idle-pool")
    release = threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        release.wait(5)

    pool.run(blocked)
    assert started.wait(5)
    assert list(pool.idle_seconds().values()) == [0.0]  # busy
    release.set()
    time.sleep(0.2)
    (idle,) = pool.idle_seconds().values()
    assert 0.1 < idle < 0.5
    deadline = time.monotonic() + 5
    while pool.idle_seconds() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.idle_seconds() == {} and pool.thread_count == 0  # it exited, and is forgotten


def test_submit_returns_futures_with_results_and_errors() -> None:
    pool = ThreadPool(name="test-pool")
    assert pool.submit(lambda a, b: a + b, 2, 3).result(timeout=5) == 5
    with pytest.raises(KeyError):
        pool.submit(lambda: {}["x"]).result(timeout=5)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.run(lambda: None)



def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


class _StrandingQueue:
    """A queue where, once armed, the next ``get`` in the thread named ``victim`` ignores
    its timeout and waits for the next ``put``: what ``SimpleQueue`` does on CPython 3.11
    and 3.12 when a thread takes its wake-up just as the timeout ends."""

    def __init__(self, victim: str) -> None:
        self._items: queue.Queue[object] = queue.Queue()
        self.victim = victim
        self.armed = threading.Event()
        self.stranded = threading.Event()

    def get(self, timeout: float | None = None) -> object:
        if (threading.current_thread().name == self.victim and self.armed.is_set()
                and not self.stranded.is_set()):
            self.stranded.set()
            return self._items.get()  # no time limit
        return self._items.get(timeout=timeout)

    def put(self, item: object) -> None:
        self._items.put(item)

    def qsize(self) -> int:
        return self._items.qsize()


def test_a_thread_stranded_in_its_queue_wait_still_leaves_when_idle() -> None:
    pool = ThreadPool(idle_timeout=0.2, name="strand")
    stranding = _StrandingQueue(victim="strand-1")
    pool._queue = stranding  # type: ignore[assignment]
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> None:
        started.release()
        release.wait(5)

    for _ in range(2):
        pool.run(blocked)
    for _ in range(2):
        assert started.acquire(timeout=5)
    stranding.armed.set()
    release.set()
    assert stranding.stranded.wait(5)
    # Without a wake-up from the thread that leaves first, strand-1 waited forever.
    assert _until(lambda: pool.thread_count == 0, 5), pool.idle_seconds()
    assert pool.idle_seconds() == {}


def test_an_item_that_raises_out_of_a_worker_leaves_the_counts_true(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    pool = ThreadPool(idle_timeout=30, name="raising")

    def broken() -> None:
        raise RuntimeError("an engine bug")

    pool.run(broken)
    assert _until(lambda: pool.thread_count == 0, 5), pool.idle_seconds()
    assert pool.idle_seconds() == {}
    assert [type(error) for error in seen] == [RuntimeError]
    # The pool still counts no idle thread, so new work gets a new thread at once.
    done = threading.Event()
    pool.run(done.set)
    assert done.wait(5)
    assert pool.thread_count == 1
    pool.shutdown()


def test_a_follow_up_handed_over_by_an_item_that_raises_still_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    pool = ThreadPool(idle_timeout=30, name="handover")
    done = threading.Event()

    def broken() -> None:
        assert pool.continue_here(done.set)
        raise RuntimeError("an engine bug after the hand-over")

    pool.run(broken)
    assert done.wait(5), "the follow-up was lost with the thread"
    pool.shutdown()


def test_work_runs_on_the_callers_thread_when_no_worker_can_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # An atexit handler on 3.12 cannot start threads: the work must still run, not
    # raise out of run() nor wait in the queue for a worker that never comes.
    def refuse(thread: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    pool = ThreadPool(max_threads=4)
    ran: list[tuple[int, int]] = []
    monkeypatch.setattr(threading.Thread, "start", refuse)
    for item in range(3):
        pool.run(lambda item=item: ran.append((item, threading.get_ident())))
    assert ran == [(item, threading.get_ident()) for item in range(3)]
    assert pool.thread_count == 0 and pool.queued == 0
