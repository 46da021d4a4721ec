"""Run XCS ops on a Dask cluster: one machine's worker processes, or many machines.

``dask_executor()`` returns a ``DaskExecutor``: a ``concurrent.futures.Executor`` that
ships each op to a Dask worker through ``distributed.Client.get_executor(pure=False)``.
Hand it to ``Config(executor=...)`` and the same jitted program runs its ops on the
cluster while its glue stays in the calling process::

    with dask_executor(n_workers=2) as cluster:          # LocalCluster on 127.0.0.1
        fast = jit(pipeline, config=Config(executor=cluster))
        fast(documents)

What the wrapper adds to Dask's own executor:

- **Serialisation checked at submit time.** Each op and its arguments are pickled with
  cloudpickle in the caller, so an unpicklable op fails at once with a
  ``SerializationError`` naming the op and the part that failed (a closure variable,
  an argument, an attribute), not later with an anonymous worker traceback.
- **Clear cluster errors.** An unreachable scheduler raises ``ClusterConnectionError``
  with the address and what to check; a task lost with its worker more often than the
  scheduler allows (``allowed_failures``), or cancelled because the connection to the
  scheduler went away, raises ``TaskLostError`` naming the op. A task is never dropped
  silently and its result is delivered once.
- **User exceptions unchanged.** An exception raised by an op on a worker reaches the
  caller with its own type and message (Dask ships it back with its traceback).

Dask and cloudpickle are the optional extra ``ember-xcs[dask]``; they are imported
only when an executor is created, so ``import ember.xcs`` never imports them.
"""

from ember.xcs.distributed._cluster import (
    ClusterConnectionError,
    ClusterError,
    DaskExecutor,
    TaskLostError,
    dask_executor,
)

__all__ = [
    "ClusterConnectionError",
    "ClusterError",
    "DaskExecutor",
    "TaskLostError",
    "dask_executor",
]
