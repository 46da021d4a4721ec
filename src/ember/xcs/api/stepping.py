"""Driving a jitted ``async def`` call on the caller's event loop, and cancelling it.

``async_call`` is one call (the coroutine a ``JitFunction`` gives). ``Stepper`` runs the
glue coroutine with its trace active only while it runs; ``all_final`` waits, after the
glue, for every op of the call. Both wait on the caller's loop without blocking it, and
both take a cancellation of the call (a ``wait_for`` timeout, ``task.cancel()``) where
plain Python would have: an ``await`` of an op does not wait for it
(``tracing.coroutines``), so while ops the glue awaited still run, plain Python would be
waiting at the ``await`` of the first of them, and the cancellation would land inside
that op's coroutine. So it is delivered there (``_delivered``): the op is cancelled and
its ``except``/``finally`` blocks run; if it handles the cancellation and returns a
value, the call goes on with that value, as plain Python's glue would; if it ends with
the cancellation (or another error), the call ends with that. The glue's own waits are
kept intact meanwhile: a future it waits on is waited on through one of ours, which is
what the cancellation cancels. Ending, the call cancels its other ops and raises once
their ``except`` and ``finally`` blocks have run.

When the glue waits elsewhere (in a library's ``await``, such as ``asyncio.sleep`` or
``wait_for``, or for an op called in a ``try`` block, whose wait takes the
cancellation itself: ``awaiting.final``), the cancellation goes into the glue as it is.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Coroutine, Generator
from typing import Any

from ember.xcs import hooks
from ember.xcs.api import closed_loops
from ember.xcs.api.call import Call
from ember.xcs.api.hosts import NO_ASYNCIO_LOOP, run_plainly
from ember.xcs.engine.driver import default_engine
from ember.xcs.engine.interruptible import Heartbeat
from ember.xcs.engine.task import TaskState
from ember.xcs.tracing import context
from ember.xcs.tracing.awaiting import awaited_ops, bodies_ended, cancelled, final
from ember.xcs.tracing.failures import DeferredFailure, raised_by_glue
from ember.xcs.tracing.frames import is_library_frame
from ember.xcs.tracing.trace import Trace

__all__ = ["Stepper", "all_final", "async_call"]


async def async_call(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """One call of the jitted ``async def`` function ``owner`` (a ``JitFunction``): the
    glue, then every op, then the outcome plain Python would give (see ``api.call``).

    A cancellation stops the call: ops not started are cancelled, running ones get the
    cancellation, and the call raises once their ``except`` and ``finally`` blocks have
    run (``bodies_ended``), as plain Python's would.
    """
    loop = _running_loop()
    if loop is None:  # driven by hand, or by another framework: its waits need asyncio
        return await run_plainly(owner._xcs_stats, NO_ASYNCIO_LOOP, owner._fn, args, kwargs,
                                 True)
    heard = hooks.hooks_for(owner._config)  # one set of hooks hears the whole call
    if heard is not None:
        heard.emit("on_graph_start", owner._name)
    trace = owner._new_trace(args, kwargs, heard)
    call = Call(owner, trace, time.perf_counter())
    heartbeat = Heartbeat(loop)  # a Ctrl-C from another thread is seen at once
    closed_loops.watch(loop, trace)  # closed under the call, that loop stops its ops
    try:
        glue_error: BaseException | None = None
        try:
            result = await Stepper(owner._glue_fn()(*args, **kwargs), trace)
        except (DeferredFailure, Exception, SystemExit) as error:
            glue_error = error  # sys.exit() too: the ops issued before it end first
        except BaseException as error:
            if not raised_by_glue(error):
                raise
            glue_error = error
        finally:
            trace.glue_ended = True  # from here on the call only waits for its ops
        if trace.run is not None:
            if isinstance(glue_error, RecursionError):  # see Call.after_glue_error
                default_engine().stop(trace.run, "RecursionError")
            # Every op ends before the call; awaiting here keeps the caller's loop free.
            await all_final(trace)
        if isinstance(glue_error, DeferredFailure):
            call.to_raise = call.earliest_error()
        elif glue_error is not None:
            call.to_raise = glue_error
            call.after_glue_error(glue_error, rerun=False)
        else:
            previous = context.swap(trace)
            try:
                call.finish_glue(result)
            except DeferredFailure:
                call.to_raise = call.earliest_error()
            finally:
                context.swap(previous)
                # Escape repair must not take this coroutine for a holder of the lazy
                # result (a frame's locals are not searched; a coroutine's are).
                result = None
        call.settle()
    except BaseException as interrupt:  # cancelled, Ctrl-C: stop at once
        result = None  # the glue's value, never given: not a holder for escape repair
        call.interrupt(interrupt)
        if trace.run is not None and isinstance(interrupt, _cancelled_error()):
            await bodies_ended(trace.run)  # the cancelled ops' cleanup, as in plain Python
        raise
    finally:
        heartbeat.stop()
        closed_loops.unwatch(trace)
        call.close(heard)
    if call.to_raise is not None:
        raise call.to_raise
    return call.result


def _cancelled_error() -> type[BaseException]:
    import asyncio  # loaded: a coroutine of asyncio's is running

    return asyncio.CancelledError


def _running_loop() -> Any:
    """The asyncio loop running the call; ``None`` when something else drives it (the
    call then runs as plain Python: ``hosts.NO_ASYNCIO_LOOP``)."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Stepper:
    """Drives a jitted coroutine with its trace active only while the coroutine runs.

    Between steps the coroutine waits on the event loop, and other tasks of that loop
    must not see the trace, so it is swapped in and out around every ``send``.
    """

    __slots__ = ("coro", "trace")

    def __init__(self, coro: Coroutine[Any, Any, Any], trace: Trace) -> None:
        self.coro = coro
        self.trace = trace

    def __await__(self) -> Any:
        coro = self.coro
        trace = self.trace
        trace.boundary = sys._getframe()
        value: Any = None
        error: BaseException | None = None
        while True:
            previous = context.swap(trace)
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                context.swap(previous)
            value, error = yield from self._wait(yielded)

    def _wait(self, yielded: Any) -> Generator[Any, Any, tuple[Any, BaseException | None]]:
        """Wait where the glue yielded; gives what to resume it with (value, error)."""
        import asyncio

        while True:
            waited = yielded
            if getattr(yielded, "_asyncio_future_blocking", None) is not None \
                    and yielded.get_loop() is asyncio.get_running_loop():
                if yielded.done():
                    return None, None
                waited = yielded.get_loop().create_future()  # ours: what a cancellation hits
                waited._asyncio_future_blocking = True
                yielded.add_done_callback(functools.partial(_set_result, waited))
            try:
                return (yield waited), None
            except BaseException as thrown:
                error: BaseException | None = thrown
            if isinstance(error, asyncio.CancelledError) and _waits_on_ops(self.coro, yielded):
                error = yield from _delivered(self.trace, error).__await__()
                if error is None and waited is not yielded:
                    continue  # the op went on with a value: so does the glue's own wait
                if waited is not yielded:
                    yielded.cancel()
                    # The glue goes on without it, so nothing reads the outcome it ends
                    # with (a gather's CancelledError): asyncio must not log it.
                    yielded.add_done_callback(_retrieve)
                return None, error
            if waited is not yielded and isinstance(error, asyncio.CancelledError) \
                    and yielded.cancel(*error.args[:1]):
                continue  # as a task would: what the glue awaits gets the cancellation
            return None, error


def _set_result(future: Any, _: Any = None) -> None:
    if not future.done():
        future.set_result(None)


def _retrieve(future: Any) -> None:
    if not future.cancelled():
        future.exception()


def _waits_on_ops(coro: Any, yielded: Any) -> bool:
    """Whether the glue waits in XCS's own waiting for op results (an ``await`` of an
    op, a condition), not in a library's ``await`` nor for an op in a try block."""
    item = coro
    while True:
        frame = getattr(item, "cr_frame", None) or getattr(item, "gi_frame", None)
        if frame is None:  # the end: a bare yield, a future's iterator, or what hides the rest
            return item is None or (getattr(yielded, "_asyncio_future_blocking", None)
                                    is not None and type(item) is type(yielded.__await__()))
        if frame.f_code is _FINAL or is_library_frame(frame):
            return False
        item = item.cr_await if hasattr(item, "cr_await") else item.gi_yieldfrom


_FINAL = final.__code__


async def _delivered(trace: Trace, error: BaseException) -> BaseException | None:
    """A cancellation of the call, delivered to the first op the glue awaited that has not
    ended (where plain Python would be waiting): what the glue gets once that op has
    ended, ``None`` if it handled the cancellation and returned a value."""
    pending = awaited_ops(trace)
    if not pending:
        return error
    first = pending[0]
    await cancelled(first)  # its except and finally blocks run; a new cancellation too
    if first.state is TaskState.DONE:
        return None
    if first.state is TaskState.FAILED and not isinstance(first.error, type(error)):
        return DeferredFailure()  # its cleanup raised: the call raises that
    return error


async def all_final(trace: Trace) -> None:
    """Wait, without blocking the event loop, until every task of ``run`` is final.

    When the run's deadline passes first, the run is stopped (its tasks become final
    at once) and what the call raises is decided as after any timeout. A cancellation
    meanwhile goes to the first op the glue awaited that has not ended (``_delivered``).
    """
    import asyncio

    loop = asyncio.get_running_loop()
    run = trace.run
    assert run is not None
    while True:
        pending = [t for t in run.tasks if not t.final]
        if not pending:
            return
        done = loop.create_future()
        remaining = [len(pending)]

        def one_final(done: Any = done, remaining: list[int] = remaining) -> None:
            remaining[0] -= 1
            if remaining[0] == 0:
                try:
                    loop.call_soon_threadsafe(_set_result, done)
                except RuntimeError:
                    pass  # its loop has closed: nobody waits there any more

        for task in pending:
            run.on_final(task, one_final)
        timeout = None if run.deadline is None else max(0.0, run.deadline - time.monotonic())
        try:
            await asyncio.wait_for(done, timeout)
            return
        except TimeoutError:
            default_engine().stop(run, "timeout")
            return
        except asyncio.CancelledError as cancel:
            error = await _delivered(trace, cancel)
            if error is not None and not isinstance(error, DeferredFailure):
                raise error from None
            # Handled by the op, or its cleanup failed (the call raises that): wait on.
