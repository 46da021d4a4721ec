"""What the engine tells a run's listener (the hooks): each node's start and end.

A listener must never change a result, so what it raises is logged and ignored. Every
start gets exactly one end: a body left running when its call stopped (a timeout,
Ctrl-C) is reported as failed with ``abandoned_error``'s error, once, when the run
stops; its late outcome is dropped. A coroutine op cancelled because an op before it
failed reports its own end (the cancellation, or what its body made of it).
"""

from __future__ import annotations

import concurrent.futures
import logging

from ember.xcs.engine.drain import Drain
from ember.xcs.engine.task import OwningRun, Task
from ember.xcs.errors import XCSTimeoutError

__all__ = ["abandoned_error", "notify", "notify_end"]

_logger = logging.getLogger("ember.xcs")


def notify(run: OwningRun, event: str, task: Task, drain: Drain) -> None:
    """Tell ``run``'s listener about ``event`` (``start``, ``end``, ``error``) of ``task``.

    ``drain`` is this thread's drain loop, set aside while the listener runs: a hook
    may call a jitted function, whose ops must start rather than queue behind the hook.
    """
    listener = run.listener
    if listener is None:
        return
    saved = drain.set_aside()
    try:
        listener(event, task)
    except Exception as error:  # a hook must never change a result
        _logger.warning("ember.xcs hook raised %s on %s of %s; ignored", error, event,
                        task.name)
    finally:
        drain.restore(saved)


def notify_end(run: OwningRun, event: str, task: Task, drain: Drain) -> None:
    """``notify`` of ``task``'s end (``end`` or ``error``), unless the listener heard it.

    Two threads may report one end: a body's outcome and the run stopping, which
    abandons the body and reports it failed at once. The first one is told.
    """
    with run.lock:
        if task.end_told:
            return
        task.end_told = True
    notify(run, event, task, drain)


def abandoned_error(task: Task) -> BaseException:
    """What hooks hear of a body left running when its call stopped."""
    reason = getattr(task.run, "stopped", None) or "stopped"
    if reason == "timeout":
        return XCSTimeoutError(f"op {task.name} was abandoned: the call ran out of time")
    return concurrent.futures.CancelledError(f"op {task.name} was abandoned: {reason}")
