"""The errors a Dask cluster can cause, each with its cause and fix."""

from __future__ import annotations

from ember.xcs.errors import XCSError

__all__ = ["ClusterConnectionError", "ClusterError", "MainGuardError", "TaskLostError"]

# Named after the public package that exports them, so tracebacks show the import path.
_PUBLIC = "ember.xcs.distributed"


class ClusterError(XCSError):
    """The Dask cluster behind a ``DaskExecutor`` could not start or run a task.

    Cause: the scheduler is unreachable, a task was lost with its worker, or a local
    cluster cannot start its worker processes.
    Fix: the message names the address, op or script line; see the subclasses.
    """


class ClusterConnectionError(ClusterError, ConnectionError):
    """The Dask scheduler could not be reached, or the address is not a Dask scheduler.

    Cause: nothing listens at the address; a process accepted the connection and never
    answered within ``connect_timeout``; or the peer answered in another protocol (an
    HTTP server such as the dashboard port). The message says which.
    Fix: check that the scheduler runs and that the address (``tcp://host:8786``) and
    port are reachable from this machine, or raise ``connect_timeout``.
    """


class TaskLostError(ClusterError):
    """An op's task was lost on the cluster instead of finishing or raising.

    Cause: the worker running it died more often than ``allowed_failures`` allows
    (each death is retried on another worker first), or the connection to the
    scheduler was lost and Dask cancelled the task.
    Fix: find out why workers die (memory limits, crashes in native code), raise
    ``allowed_failures``, or re-run the call once the cluster is healthy.
    """


class MainGuardError(ClusterError, RuntimeError):
    """A local cluster of worker processes was started from unguarded script code.

    Cause: Dask starts worker processes with ``spawn``, which re-runs the main script in
    every new process; a cluster started at the script's top level would start again
    in each worker, and Dask would fail with ``Nanny failed to start``.
    Fix: put the code that starts the cluster under ``if __name__ == "__main__":``, or
    use thread workers (``dask_executor(processes=False)``).
    """


for _error in (ClusterError, ClusterConnectionError, TaskLostError, MainGuardError):
    _error.__module__ = _PUBLIC
del _error
