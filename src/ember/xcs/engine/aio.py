"""One background event loop that runs coroutine ops without a thread each."""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["run_coroutine", "submit_coroutine"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    import asyncio  # here, not at module level: importing asyncio costs ~25 ms

    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="ember-xcs-asyncio", daemon=True
            )
            thread.start()
            _loop = loop
        return _loop


def submit_coroutine(
    coro: Coroutine[Any, Any, Any], context: contextvars.Context | None = None
) -> concurrent.futures.Future[Any]:
    """Schedule ``coro`` on the shared loop (in ``context``); the future completes with it."""
    loop = _background_loop()
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def start() -> None:
        task = loop.create_task(coro, context=context)

        def done(finished: asyncio.Task[Any]) -> None:
            if finished.cancelled():
                future.cancel()
            elif (error := finished.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(finished.result())

        task.add_done_callback(done)

    loop.call_soon_threadsafe(start)
    return future


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion on the shared loop and return (or raise) its outcome."""
    return submit_coroutine(coro, contextvars.copy_context()).result()
