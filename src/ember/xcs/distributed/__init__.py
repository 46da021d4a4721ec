"""Run XCS ops on a Dask cluster: one machine's worker processes, or many machines.

``dask_executor()`` returns a ``DaskExecutor``: a ``concurrent.futures.Executor`` that
ships each op to a Dask worker as a task of its own (``Client.submit(..., pure=False)``).
Hand it to ``Config(executor=...)`` and the same jitted program runs its ops on the
cluster while its glue stays in the calling process::

    with dask_executor(n_workers=2) as cluster:          # LocalCluster on 127.0.0.1
        fast = jit(pipeline, config=Config(executor=cluster))
        fast(documents)

What the wrapper adds to submitting tasks with Dask directly:

- **Serialisation checked at submit time.** Each op and its arguments are pickled with
  cloudpickle in the caller, so an unpicklable op fails at once with a
  ``SerializationError`` naming the op and the part that failed (a closure variable,
  an argument, an attribute), not later with an anonymous worker traceback.
- **Finished means delivered.** A result is gathered into the caller as soon as its op
  finishes and the cluster's copy is released, so a worker that dies later costs only
  the ops it had not finished (a finished model call is never paid for twice).
- **Clear cluster errors.** ``connect_timeout`` bounds the whole connect, handshake
  included; an unreachable scheduler, a peer that accepts and stays silent, and a peer
  that is not a Dask scheduler (an HTTP port) each raise ``ClusterConnectionError``
  saying which. A task lost with its worker more often than the scheduler allows
  (``allowed_failures``), or cancelled because the connection to the scheduler went
  away, raises ``TaskLostError`` naming the op. A task is never dropped silently and
  its result is delivered once.
- **No spawn surprise.** Starting local worker processes from a script's top level,
  outside ``if __name__ == "__main__":``, raises ``MainGuardError`` naming the line,
  instead of Dask's "Nanny failed to start" in every re-run of the script.
- **User exceptions unchanged.** An exception raised by an op on a worker reaches the
  caller with its own type, message and traceback, ``SystemExit`` and
  ``KeyboardInterrupt`` too. It travels back as the task's value, so Dask's worker
  neither logs it ("Compute Failed") nor dies of it.

Dask and cloudpickle are the optional extra ``ember-xcs[dask]``; they are imported
only when an executor is created, so ``import ember.xcs`` never imports them.
"""

from ember.xcs.distributed._cluster import (
    ClusterConnectionError,
    ClusterError,
    DaskExecutor,
    MainGuardError,
    TaskLostError,
    dask_executor,
)

__all__ = [
    "ClusterConnectionError",
    "ClusterError",
    "DaskExecutor",
    "MainGuardError",
    "TaskLostError",
    "dask_executor",
]
