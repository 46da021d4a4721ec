from __future__ import annotations

import threading
import time

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

