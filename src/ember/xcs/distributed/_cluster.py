"""``DaskExecutor`` and ``dask_executor``: a Dask cluster as a ``concurrent.futures.Executor``.

Each submitted call travels as a ``ShippedCall`` (see ``_shipping``); its outcome comes
back through Dask's future and settles ours exactly once, including when the task is
lost with its worker or the client goes away.
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
import types
from collections.abc import Callable
from typing import Any

from ember.xcs.distributed._shipping import ShippedCall, call_name, load_result, pickle_call
from ember.xcs.errors import XCSError

__all__ = [
    "ClusterConnectionError",
    "ClusterError",
    "DaskExecutor",
    "TaskLostError",
    "dask_executor",
]

_EXTRA = "pip install 'ember-xcs[dask]'"
_DEFAULT_CONNECT_TIMEOUT = 10.0
_DEFAULT_ALLOWED_FAILURES = 3
_SETTLE_SECONDS = 5.0  # for finished Dask futures to hand their outcome over


class ClusterError(XCSError):
    """The Dask cluster behind a ``DaskExecutor`` could not run a task.

    Cause: the scheduler is unreachable, or a task was lost with its worker.
    Fix: the message names the address or op; see the subclasses.
    """


class ClusterConnectionError(ClusterError, ConnectionError):
    """The Dask scheduler could not be reached within the connect timeout.

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


def _require(module_name: str) -> types.ModuleType:
    """Import an optional dependency of the ``dask`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise XCSError(
            f"ember.xcs.distributed needs the optional dependency {module_name!r}, which "
            f"could not be imported ({error}). Install the extra: {_EXTRA}"
        ) from error


class DaskExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` that runs ops on a Dask cluster.

    Normally made by ``dask_executor``; construct it directly to reuse a
    ``distributed.Client`` you already have (it is then left open on ``shutdown``).

    Args:
        client: a connected ``distributed.Client``.
        owns_client: close the client (and ``cluster``) on ``shutdown``.
        cluster: the ``LocalCluster`` started for this executor, if any.

    Example:
        >>> from ember.xcs import Config, jit, op
        >>> from ember.xcs.distributed import dask_executor
        >>> @op
        ... def square(x):
        ...     return x * x
        >>> with dask_executor(n_workers=1, processes=False) as cluster:
        ...     jit(lambda xs: [square(x) for x in xs],
        ...         config=Config(executor=cluster))([1, 2, 3])
        [1, 4, 9]
    """

    def __init__(self, client: Any, *, owns_client: bool = False, cluster: Any = None) -> None:
        self._client = client
        self._cluster = cluster
        self._owns_client = owns_client
        self._address = str(client.scheduler.address)
        self._executor: concurrent.futures.Executor = client.get_executor(pure=False)
        self._lock = threading.Lock()  # guards _closed and _pending
        self._closed = False
        self._pending: dict[concurrent.futures.Future[Any], str] = {}  # unsettled: op name

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` that tasks are submitted through."""
        return self._client

    @property
    def address(self) -> str:
        """The scheduler address, e.g. ``tcp://127.0.0.1:40123``."""
        return self._address

    def worker_count(self) -> int:
        """How many workers the scheduler knows right now."""
        return len(self._client.nthreads())  # asks the scheduler; never a cached answer

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
               ) -> concurrent.futures.Future[Any]:
        """Ship ``fn(*args, **kwargs)`` to a worker and return a future for its result.

        Args:
            fn: the callable; for XCS ops this is ``Op.invoke`` with ``(args, kwargs)``.
            *args: positional arguments for ``fn``.
            **kwargs: keyword arguments for ``fn``.

        Returns:
            A future that resolves to the result, or to the exception ``fn`` raised
            (same type), or to ``TaskLostError`` when the cluster lost the task.

        Raises:
            SerializationError: ``fn`` or an argument cannot be pickled; the message
                names the op and the part that failed.
            RuntimeError: the executor was shut down.
        """
        name = call_name(fn)
        payload = pickle_call(name, fn, args, kwargs)
        outer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a DaskExecutor after shutdown()")
            self._pending[outer] = name
            inner = self._executor.submit(ShippedCall(name, payload))
        outer.add_done_callback(lambda done: inner.cancel() if done.cancelled() else None)
        inner.add_done_callback(functools.partial(self._deliver, name, outer))
        return outer

    def _deliver(self, name: str, outer: concurrent.futures.Future[Any],
                 inner: concurrent.futures.Future[Any]) -> None:
        """Copy the outcome of Dask's future to ours, naming lost tasks.

        Runs on the client's event loop thread; whatever happens, ``outer`` is settled.
        """
        try:
            value, error = None, self._outcome_error(name, inner)
            if error is None:
                value = load_result(name, inner.result())
        except BaseException as unexpected:
            value, error = None, unexpected
        _settle(outer, value, error)
        with self._lock:
            self._pending.pop(outer, None)

    def _outcome_error(self, name: str, inner: concurrent.futures.Future[Any]
                       ) -> BaseException | None:
        if inner.cancelled():
            return TaskLostError(
                f"op {name!r} was cancelled by the Dask cluster at {self._address} before "
                "it finished: the connection to the scheduler was lost or the executor was "
                "shut down. Check the scheduler and re-run the call."
            )
        error = inner.exception()
        from distributed import KilledWorker

        if isinstance(error, KilledWorker):
            lost = TaskLostError(
                f"op {name!r} was lost: the Dask workers running it died more often than "
                f"allowed_failures permits. {error} "
                "Find out why the workers die (memory limits, native crashes), or raise "
                "dask_executor(allowed_failures=...) / the scheduler's "
                "distributed.scheduler.allowed-failures."
            )
            lost.__cause__ = error
            return lost
        return error

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work and release the client and cluster this executor started.

        Args:
            wait: wait for submitted tasks to finish first.
            cancel_futures: cancel tasks that have not finished instead of waiting.

        When the executor owns its client, a task still unfinished when the client
        closes is settled with ``TaskLostError``, so no caller waits forever. Safe to
        call more than once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        finish = wait and not cancel_futures
        self._executor.shutdown(wait=finish)
        if not self._owns_client:
            return
        with self._lock:
            pending = dict(self._pending)
        if finish:  # Dask's futures are done; their outcomes reach ours on the loop
            concurrent.futures.wait(pending, timeout=_SETTLE_SECONDS)
        for future, name in pending.items():
            _settle(future, None, TaskLostError(
                f"op {name!r} was still running on the Dask cluster at {self._address} when "
                "its executor was shut down. Shut the executor down after the calls using "
                "it have returned."
            ))
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._address
        return f"<DaskExecutor {state}>"


def _settle(future: concurrent.futures.Future[Any], value: Any,
            error: BaseException | None) -> None:
    """Give ``future`` its outcome unless it already has one (first outcome wins)."""
    try:
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)
    except concurrent.futures.InvalidStateError:
        pass  # settled by shutdown(), or cancelled by its owner


def dask_executor(
    address: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    processes: bool = True,
    connect_timeout: float = _DEFAULT_CONNECT_TIMEOUT,
    allowed_failures: int = _DEFAULT_ALLOWED_FAILURES,
) -> DaskExecutor:
    """An executor that runs XCS ops on Dask: a remote cluster, or a local one.

    With ``address`` it connects to a running Dask scheduler. Without, it starts a
    ``LocalCluster`` bound to 127.0.0.1 (no dashboard) that lives as long as the
    executor: use it as a context manager or call ``shutdown()``.

    Args:
        address: scheduler address such as ``"tcp://10.0.0.5:8786"``; ``None`` starts a
            local cluster.
        n_workers: local cluster only: worker count (default: one per CPU core).
        threads_per_worker: local cluster only: threads per worker. The default 1
            suits CPU-bound pure-Python ops (one GIL per process); raise it for I/O.
        processes: local cluster only: workers are processes (``True``) or threads
            in this process (``False``, cheap to start, GIL-bound).
        connect_timeout: seconds to wait for the scheduler before giving up.
        allowed_failures: local cluster only: how many workers may die while running
            one task before it fails with ``TaskLostError`` (each death is retried on
            another worker). A remote scheduler uses its own
            ``distributed.scheduler.allowed-failures`` setting.

    Returns:
        A ``DaskExecutor`` for ``Config(executor=...)``.

    Raises:
        XCSError: the ``dask`` extra is not installed, or an argument is invalid.
        ClusterConnectionError: the scheduler could not be reached in time.

    Example:
        >>> from ember.xcs import Config, jit, op
        >>> @op
        ... def double(x):
        ...     return 2 * x
        >>> with dask_executor(n_workers=2, processes=False) as cluster:
        ...     jit(lambda xs: [double(x) for x in xs],
        ...         config=Config(executor=cluster))([1, 2])
        [2, 4]
    """
    _check_arguments(address, n_workers, threads_per_worker, connect_timeout, allowed_failures)
    distributed = _require("distributed")
    _require("cloudpickle")
    if address is not None:
        return DaskExecutor(_connect(distributed, address, connect_timeout), owns_client=True)
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        # Everything listens on loopback only. TCP even for thread workers: Dask's
        # in-process transport rejects a host, and its HTTP servers then bind 0.0.0.0.
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
        # The scheduler serves /health and /metrics even without a dashboard; keep that
        # on loopback and on a free port instead of Dask's fixed 8787.
        scheduler_kwargs={"allowed_failures": allowed_failures,
                          "dashboard_address": "127.0.0.1:0"},
    )
    try:
        client = _connect(distributed, cluster, connect_timeout)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(client, owns_client=True, cluster=cluster)


def _check_arguments(address: str | None, n_workers: int | None, threads_per_worker: int,
                     connect_timeout: float, allowed_failures: int) -> None:
    if address is not None and not isinstance(address, str):
        raise XCSError(
            f"dask_executor(address=...) must be a scheduler address such as "
            f"'tcp://host:8786' or None, got {type(address).__name__} {address!r}."
        )
    for name, value, minimum in (("n_workers", n_workers, 1),
                                 ("threads_per_worker", threads_per_worker, 1),
                                 ("allowed_failures", allowed_failures, 0)):
        if value is None and name == "n_workers":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise XCSError(f"dask_executor({name}=...) must be an int >= {minimum}, "
                           f"got {value!r}.")
    if (isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int | float)
            or connect_timeout <= 0):
        raise XCSError(f"dask_executor(connect_timeout=...) must be a positive number of "
                       f"seconds, got {connect_timeout!r}.")


def _connect(distributed: types.ModuleType, target: Any, timeout: float) -> Any:
    """A ``Client`` for ``target`` (an address or a cluster), with a clear failure."""
    try:
        return distributed.Client(target, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        where = target if isinstance(target, str) else getattr(target, "scheduler_address", target)
        raise ClusterConnectionError(
            f"could not reach the Dask scheduler at {where} within {timeout:g} s "
            f"({type(error).__name__}: {error}). Check that `dask scheduler` is running there "
            "and that the address and port are reachable from this machine (firewall, "
            "tcp:// prefix), or pass a larger connect_timeout."
        ) from error
