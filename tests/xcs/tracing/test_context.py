from __future__ import annotations

import threading

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
