"""Waiting in the glue for the ops issued before a point (``context.settle_earlier``).

A stream of a provider with ``max_concurrency`` is not an op: it runs in the glue, and
from its first read until it ends it holds one of the provider's slots. In plain
Python every model call written before it has finished by then. Under ``@jit`` such a
call may still wait for a slot, queued behind the stream; if the glue needs its
value while reading the stream (a condition in the loop over the chunks), the glue
waits for the call, the call for the stream's slot, and the stream for the glue:
nothing moves again. So before a stream takes its slot the glue waits, as plain
Python's order had it, for the ops issued before it that may take one: the calls of
that provider, and any op that is no model call (its body may call the provider). It
is a barrier (``explain`` lists it); an op that failed meanwhile unwinds the glue.

The glue changing a process-wide setting (``tracing.settings``) waits the same way,
for every task issued before it, lifted operations included (``keep`` None).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from ember.xcs.engine.task import Task, TaskState
from ember.xcs.tracing.awaiting import Waiting
from ember.xcs.tracing.barrier import Barrier
from ember.xcs.tracing.failures import DeferredFailure, wait_for_ops
from ember.xcs.tracing.frames import inspect_site
from ember.xcs.tracing.trace import Trace

__all__ = ["asettle_earlier", "settle_earlier", "unfinished"]


def _earlier(trace: Any, keep: Callable[[Any], bool] | None, reason: str) -> list[Task]:
    """The unfinished ops of ``trace`` that ``keep`` selects, noted as one barrier.
    Without ``keep``: every task plain Python had ended by now, ops and lifted
    operations alike, but for the coroutine ops not awaited yet (plain Python had not
    started them)."""
    run = trace.run if type(trace) is Trace and not trace.finished else None
    if run is None:
        return []
    tasks = [task for task in run.tasks if not task.final and _kept(task, keep)]
    if tasks:
        location = inspect_site(trace.boundary, None)[0]
        trace.barriers.append(Barrier(reason, location, tasks[-1], len(run.tasks)))
    return tasks


def unfinished(run: Any) -> list[Task]:
    """The tasks of ``run`` still running that plain Python had ended by now."""
    return [task for task in run.tasks if not task.final and _kept(task, None)]


def _kept(task: Task, keep: Callable[[Any], bool] | None) -> bool:
    if keep is None:  # a coroutine op not awaited yet is deferred, and eager till then
        return not (task.eager and task.op is not None and task.op.is_coroutine)
    return task.op is not None and keep(task.op)


def _raise_if_failed(tasks: list[Task]) -> None:
    if any(task.state is not TaskState.DONE for task in tasks):
        raise DeferredFailure()  # the call raises the failure plain Python met first


def settle_earlier(trace: Any, keep: Callable[[Any], bool] | None, reason: str) -> None:
    """Block the glue of ``trace`` until the ops issued so far that ``keep`` selects
    (all of them: ``None``) have ended."""
    tasks = _earlier(trace, keep, reason)
    for task in tasks:
        wait_for_ops(trace, functools.partial(trace.engine.wait, task))
    _raise_if_failed(tasks)


async def asettle_earlier(trace: Any, keep: Callable[[Any], bool] | None,
                          reason: str) -> None:
    """``settle_earlier`` in ``async def`` glue, without blocking its event loop.

    A cancellation meanwhile reaches the glue alone: the ops had ended in plain Python.
    """
    tasks = _earlier(trace, keep, reason)
    if not tasks:
        return
    import asyncio  # (lazily: importing ember.xcs stays fast)

    run = trace.run
    waiting = Waiting(tasks, None)
    if run.deadline is None:
        await waiting
    else:
        try:
            await asyncio.wait_for(waiting, max(0.0, run.deadline - time.monotonic()))
        except TimeoutError:
            trace.engine.stop(run, "timeout")  # its tasks are final from here on
    _raise_if_failed(tasks)
