"""What a traced call raises when something went wrong: failures, cancellation, timeouts.

``DeferredFailure`` unwinds the glue once the run has failed (so that the jit boundary
can raise the failure plain Python would have met first); ``failure_of`` is the user's
own exception behind a failed task; ``timeout_error`` is the ``XCSTimeoutError`` of a
run that ran out of time.
"""

from __future__ import annotations

from ember.xcs.engine.state import Run
from ember.xcs.engine.task import Task
from ember.xcs.errors import XCSError, XCSTimeoutError
from ember.xcs.ir.graph import NodeKind

__all__ = ["DeferredFailure", "failure_of", "timeout_error"]


class DeferredFailure(BaseException):
    """An op failed; unwind the glue to the jit boundary, which raises the real error.

    A ``BaseException``, so that ``except Exception`` clauses in the traced function
    cannot catch it: in plain Python the failing op would have raised at its own call
    site, outside those clauses.
    """



def failure_of(task: Task) -> BaseException:
    """The user exception behind a failed, upstream-failed or cancelled task."""
    root = task.root_failure
    if root.error is not None:
        return root.error
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
