"""Waits of async glue on engine tasks: a task that ends after the awaiting loop closed
(``asyncio.run`` returned on a timeout while an op was still stopping) is no error."""

from __future__ import annotations

import asyncio
from typing import Any

from ember.xcs.tracing.awaiting import Waiting


class _Run:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def on_final(self, task: Any, callback: Any) -> None:
        self.callbacks.append(callback)


class _Task:
    final = False

    def __init__(self) -> None:
        self.run = _Run()


def test_a_task_ending_after_the_awaiting_loop_closed_is_no_error():
    task = _Task()

    async def wait_briefly() -> None:
        try:
            await asyncio.wait_for(Waiting([task], None), 0.01)
        except TimeoutError:
            pass

    asyncio.run(wait_briefly())  # the loop is closed now; the task ends afterwards
    assert len(task.run.callbacks) == 1
    task.run.callbacks[0]()  # raised RuntimeError('Event loop is closed') in the engine
