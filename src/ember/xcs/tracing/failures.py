"""What a traced call raises when something went wrong: failures, cancellation, timeouts.

``DeferredFailure`` unwinds the glue once the run has failed (so that the jit boundary
can raise the failure plain Python would have met first); ``failure_of`` is the user's
own exception behind a failed task; ``timeout_error`` is the ``XCSTimeoutError`` of a
run that ran out of time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ember.xcs.engine.state import Run, RunStopped
from ember.xcs.engine.task import Task
from ember.xcs.errors import XCSError, XCSTimeoutError
from ember.xcs.ir.graph import NodeKind
from ember.xcs.tracing.protocols import stop_becomes

__all__ = ["DeferredFailure", "failure_of", "raised_by_glue", "timeout_error", "wait_for_ops"]


class DeferredFailure(BaseException):
    """An op failed; unwind the glue to the jit boundary, which raises the real error.

    A ``BaseException``, so that ``except Exception`` clauses in the traced function
    cannot catch it: in plain Python the failing op would have raised at its own call
    site, outside those clauses.
    """



def failure_of(task: Task) -> BaseException:
    """The user exception behind a failed, upstream-failed or cancelled task (a
    ``StopIteration`` as plain Python would have met it where the glue called the op)."""
    root = task.root_failure
    if root.error is not None:
        return stop_becomes(root.error, root.stop_becomes, root.name)
    return XCSError(
        f"the value of {task.name} was never computed: an earlier op failed or the call "
        "was cancelled"
    )


def timeout_error(run: Run) -> XCSTimeoutError:
    """The ``XCSTimeoutError`` for ``run``, naming each op still running once."""
    names = list(dict.fromkeys(run.abandoned if run.stopped is not None else (
        t.name for t in run.tasks if t.started and not t.ended and t.kind is not NodeKind.LIFTED
    )))
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return XCSTimeoutError(
        f"the call did not finish within timeout={run.timeout} s; still running: "
        f"{shown or 'nothing'}. Raise Config(timeout=...) or find the slow op with explain()."
    )


_STOPS = (KeyboardInterrupt, GeneratorExit)


def raised_by_glue(error: BaseException) -> bool:
    """Whether ``error`` (a ``BaseException`` but no ``Exception``) is the glue's own
    control flow, such as an agent's ``class FinalAnswer(BaseException)``: then the ops
    issued before it end first, and one that failed is what the call raises, as plain
    Python would have raised that before reaching the glue's ``raise``. Ctrl-C and
    cancellation are not: they stop the call at once. A ``KeyboardInterrupt`` or
    ``GeneratorExit`` is, when a ``raise`` statement of the user's code raised it."""
    if isinstance(error, _STOPS):
        return _raised_by_a_raise_statement(error)
    if type(error).__module__.startswith("ember."):
        return False  # (ember's own signals, such as a transform's probe, pass through)
    asyncio = sys.modules.get("asyncio")
    return asyncio is None or not isinstance(error, asyncio.CancelledError)


def _raised_by_a_raise_statement(error: BaseException) -> bool:
    """Whether a ``raise`` statement of the user's code raised ``error``, where it was
    first raised. Python runs a signal's handler (Ctrl-C) at calls and jumps, never at a
    ``raise``, and closing a coroutine throws ``GeneratorExit`` in at an ``await``."""
    from ember.xcs.tracing.frames import is_user_code
    from ember.xcs.tracing.versions import instruction_at

    where = error.__traceback__
    if where is None:
        return False
    while where.tb_next is not None:
        where = where.tb_next
    code = where.tb_frame.f_code
    instruction = instruction_at(code, where.tb_lasti)
    return instruction is not None and instruction.opname == "RAISE_VARARGS" \
        and is_user_code(code.co_filename)


def wait_for_ops(trace: Any, wait: Callable[[], None]) -> None:
    """Run ``wait``, the glue of ``trace`` waiting for ops. A stopped run unwinds the glue
    (``XCSTimeoutError`` when out of time). An exception raised inside the wait itself
    is no line of the glue's: a signal handler's (a request deadline's ``alarm``), or
    Ctrl-C. It is noted as ``trace.interrupted_by``, and stops the call at once, as
    plain Python's interrupted op would have, instead of waiting for the ops."""
    try:
        wait()
    except RunStopped as stopped:
        if str(stopped) == "timeout" and trace.run is not None:
            raise timeout_error(trace.run) from None
        raise DeferredFailure() from None
    except BaseException as error:
        trace.interrupted_by = error
        raise
