"""The acceptance points of the XCS core, each as a test."""

from __future__ import annotations

import gc
import sys
import threading
import time
import traceback
import tracemalloc

import pytest

from ember.api.operators import Operator
from ember.xcs import Config, get_jit_stats, jit, op
from ember.xcs.engine.driver import default_engine
from ember.xcs.engine.threads import ThreadPool

SLEEP = 0.1


@op
def sleepy(x: int) -> str:
    time.sleep(SLEEP)
    return f"item-{x}"


def eight_ops(base: int) -> list[str]:
    return [sleepy(base + i) for i in range(8)]


def test_eight_independent_ops_are_parallel_from_the_first_call() -> None:
    fast = jit(eight_ops)
    for call, base in enumerate([0, 10, 20, 30, 40, 50]):
        started = time.perf_counter()
        result = fast(base)
        elapsed = time.perf_counter() - started
        assert result == [f"item-{base + i}" for i in range(8)]
        assert elapsed < 0.25, f"call {call} took {elapsed:.3f}s (8 x {SLEEP}s ops)"


_join_calls: list[int] = []
_join_lock = threading.Lock()


@op
def tagged(x: int) -> str:
    with _join_lock:
        _join_calls.append(x)
    time.sleep(SLEEP)
    return f"<{x}>"


def join_then_fan_out(items: list[int]) -> tuple[str, list[str]]:
    text = "\n".join([tagged(x) for x in items])
    second = [tagged(x + 100) for x in items]
    return text, second


def test_join_of_lazy_values_then_a_second_fan_out() -> None:
    fast = jit(join_then_fan_out)
    items = [1, 2, 3, 4, 5, 6]
    for call in range(3):
        _join_calls.clear()
        started = time.perf_counter()
        result = fast(items)
        elapsed = time.perf_counter() - started
        assert result == ("\n".join(f"<{x}>" for x in items), [f"<{x + 100}>" for x in items])
        assert sorted(_join_calls) == sorted(items + [x + 100 for x in items]), "each op once"
        # The join is a lifted node: both fan-outs overlap, from the first call on.
        assert elapsed < 0.2, f"call {call} took {elapsed:.3f}s"
    stats = get_jit_stats(fast)
    assert stats["learned_barriers"] == [] and stats["reruns"] == 0


@jit
def inner_jitted(x: int) -> list[str]:
    return [sleepy(x), sleepy(x + 1), sleepy(x + 2), sleepy(x + 3)]


def outer_calls_inner(x: int) -> list[list[str]]:
    return [inner_jitted(x), inner_jitted(x + 10)]


class FanOut(Operator):
    def forward(self, *, inputs: dict[str, int]) -> dict[str, list[str]]:
        base = inputs["base"]
        return {"items": [sleepy(base + i) for i in range(4)]}


def operator_inside_jit(base: int) -> dict[str, list[str]]:
    return FanOut()(inputs={"base": base})


def test_nested_jit_is_correct_and_parallel() -> None:
    expected = [[f"item-{i}" for i in range(1, 5)], [f"item-{i}" for i in range(11, 15)]]
    started = time.perf_counter()
    assert jit(outer_calls_inner)(1) == expected
    assert time.perf_counter() - started < 0.25  # 8 ops of 100 ms in one trace


def test_operator_fan_out_inside_jit_is_parallel() -> None:
    started = time.perf_counter()
    assert jit(operator_inside_jit)(5) == {"items": [f"item-{i}" for i in range(5, 9)]}
    assert time.perf_counter() - started < 0.25


@op
def calls_a_jitted_function(x: int) -> list[str]:
    return inner_jitted(x)  # a nested trace inside a worker


@pytest.mark.timeout(20)
def test_nested_jit_with_one_worker_completes() -> None:
    serial = Config(max_workers=1)
    outer = jit(lambda x: [calls_a_jitted_function(x), calls_a_jitted_function(x + 5)],
                config=serial)
    inner_serial = jit(outer_calls_inner, config=serial)
    assert outer(0) == [[f"item-{i}" for i in range(4)], [f"item-{i}" for i in range(5, 9)]]
    assert inner_serial(0)[0] == [f"item-{i}" for i in range(4)]
    assert jit(operator_inside_jit, config=serial)(0) == {"items": [f"item-{i}" for i in range(4)]}


@op
def square(x: int) -> int:
    time.sleep(0.001)
    return x * x


@jit
def sum_of_squares(values: list[int]) -> dict[str, int]:
    squares = [square(v) for v in values]
    return {"total": sum(squares), "first": squares[0]}


def test_many_threads_calling_one_jitted_function() -> None:
    errors: list[str] = []

    def worker(thread: int) -> None:
        for call in range(20):
            values = [thread, call, thread + call]
            expected = {"total": sum(v * v for v in values), "first": thread * thread}
            got = sum_of_squares(values)
            if got != expected:
                errors.append(f"thread {thread} call {call}: {got} != {expected}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert get_jit_stats(sum_of_squares)["calls"] >= 640


@op
def fast_op(x: int) -> int:
    return x + 1


@jit
def small_pipeline(x: int) -> list[int]:
    a = fast_op(x)
    return [a, fast_op(x + 1), a + 1]


def _live_threads() -> int:
    # Pool workers are named ember-xcs-<n>; the asyncio loop thread lives on by design.
    return sum(1 for t in threading.enumerate() if t.name.removeprefix("ember-xcs-").isdigit())


@pytest.mark.timeout(120)
def test_no_leaked_threads_and_flat_memory_after_10000_calls() -> None:
    pool = default_engine().threads
    saved = pool.idle_timeout
    pool.set_idle_timeout(0.5)  # threads stay warm for a minute by default
    try:
        _no_leaks()
    finally:
        pool.set_idle_timeout(saved)


def _no_leaks() -> None:
    for x in range(500):  # warm up caches and the pool
        small_pipeline(x)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for x in range(10_000):
        assert small_pipeline(x) == [x + 1, x + 2, x + 2]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < 2_000_000, f"memory grew by {after - before} bytes"
    # Idle pool threads exit after their idle timeout. A thread still alive must be one
    # that ran an item within its idle timeout (work of some other call in this process),
    # never one idling past it. Overdue threads get a second, long wait, for a thread
    # that is merely late. CI runs on 3.12 saw idle threads still in their 0.5 s queue
    # wait 25 s and 68 s later: SimpleQueue.get(timeout) on 3.11/3.12 can wait until
    # the next put; the pool now wakes such a thread when another leaves (test_threads).
    pool = default_engine().threads
    deadline = time.monotonic() + 20
    while _live_threads() > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    deadline = time.monotonic() + 40
    while _overdue(pool) and time.monotonic() < deadline:
        time.sleep(0.2)
    overdue = _overdue(pool)
    assert not overdue, f"idle past the timeout: {overdue}\n{_thread_report()}"
    assert _live_threads() <= 2, _thread_report()


def _overdue(pool: ThreadPool) -> dict[str, float]:
    return {name: seconds for name, seconds in pool.idle_seconds().items()
            if seconds > pool.idle_timeout + 2.0}


def _thread_report() -> str:
    """Where each pool thread still alive is (for a failure message)."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        if thread.name.removeprefix("ember-xcs-").isdigit() and thread.ident in frames:
            stack = traceback.format_stack(frames[thread.ident])[-3:]
            lines.append(f"{thread.name}:\n{''.join(stack)}")
    pool = default_engine().threads
    idle = pool.idle_seconds()
    return (f"{len(lines)} pool threads alive (idle seconds {idle}, queued "
            f"{pool.queued}):\n" + "\n".join(lines[:5]))
