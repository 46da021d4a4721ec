from __future__ import annotations

import gc
import threading
from collections.abc import Callable

from ember.xcs.tracing import context


class Recorder:
    def call_op(self, op: object, args: tuple[object, ...], kwargs: dict[str, object]) -> str:
        return "recorded"


def test_activate_is_per_thread_and_restores() -> None:
    recorder = Recorder()
    seen: list[object] = []
    with context.activate(recorder):
        assert context.current_trace() is recorder
        thread = threading.Thread(target=lambda: seen.append(context.current_trace()))
        thread.start()
        thread.join()
        with context.suspended():
            assert context.current_trace() is None
        assert context.current_trace() is recorder
    assert context.current_trace() is None
    assert seen == [None]


def test_swap_returns_previous() -> None:
    recorder = Recorder()
    assert context.swap(recorder) is None
    assert context.swap(None) is recorder



class _Connection:
    """An object in a reference cycle whose finalizer writes through ``write``."""

    def __init__(self, name: object, write: Callable[[object], object],
                 log: list[object]) -> None:
        self.name, self.write, self.log = name, write, log
        self.itself = self  # only the cyclic garbage collector frees it

    def __del__(self) -> None:
        self.log.append((type(self.write(self.name)).__name__, context.current_trace()))


def test_the_finalizers_a_collection_runs_see_no_trace() -> None:
    # The collector may fire inside XCS's own code, holding a lock of the call: an op a
    # finalizer calls there must run plainly, not join the trace (and take the lock).
    log: list[object] = []
    gc.collect()
    with context.activate(Recorder()):
        _Connection("audit", str, log)
        gc.collect()
        assert isinstance(context.current_trace(), Recorder)
    assert log == [("str", None)]


def test_a_finalizer_calling_ops_while_the_collector_fires_inside_a_call_does_not_hang(
) -> None:
    from ember.xcs import jit, op

    log: list[object] = []

    @op
    def audit(name: object) -> str:
        return f"wrote {name}"

    @jit
    def flush(name: object) -> str:
        return audit(name) + "!"

    @op
    def fetch(x: int) -> int:
        return x + 1

    @jit
    def pipeline(n: int) -> int:
        total = []
        for i in range(n):
            _Connection(i, audit if i % 2 else flush, log)
            total.append(fetch(i))
        return sum(total)

    results: list[int] = []
    thresholds = gc.get_threshold()
    gc.set_threshold(1)  # collections everywhere, inside the engine's locked code too
    try:
        worker = threading.Thread(target=lambda: results.extend(
            pipeline(100) for _ in range(20)), daemon=True)
        worker.start()
        worker.join(30)
    finally:
        gc.set_threshold(*thresholds)
    assert not worker.is_alive(), "a finalizer's op call waited for the call's own lock"
    gc.collect()
    assert results == [5050] * 20
    assert {kind for kind, _ in log} == {"str"}
    assert {trace for _, trace in log} == {None}
