"""``DaskExecutor`` and ``dask_executor``: a Dask cluster as a ``concurrent.futures.Executor``.

Each submitted call travels as a ``ShippedCall`` (see ``_shipping``) in a Dask task of
its own. As soon as the task finishes, its result is gathered into this process and the
task is released, so the cluster keeps no copy: a worker that dies afterwards takes
nothing with it that would have to be computed again (an LLM call that finished is
never paid for twice). The outcome settles our future exactly once, including when
the task is lost with its worker or the client goes away.

The result cache is consulted here, in the caller, before anything is shipped (see
``ember.xcs.cache.shipping``): a hit settles the future at once, a miss ships
the op's body without its cache step, and the result is stored in the caller's store
before the caller sees it. Outcomes are settled in the context the call was submitted
from, so that ops submitted when an earlier one finishes see the caller's settings.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.xcs.cache.shipping import plan_shipping
from ember.xcs.cache.store import MISSING
from ember.xcs.distributed._arguments import check_arguments
from ember.xcs.distributed._connect import connect_client
from ember.xcs.distributed._errors import (
    ClusterConnectionError,
    ClusterError,
    MainGuardError,
    TaskLostError,
)
from ember.xcs.distributed._main_guard import check_main_guard
from ember.xcs.distributed._shipping import ShippedCall, call_name, load_outcome, pickle_call
from ember.xcs.errors import XCSError

if TYPE_CHECKING:
    from ember.xcs.engine.shipped import Sent

__all__ = [
    "ClusterConnectionError",
    "ClusterError",
    "DaskExecutor",
    "MainGuardError",
    "TaskLostError",
    "dask_executor",
]

_EXTRA = "pip install 'ember-xcs[dask]'"
_DEFAULT_CONNECT_TIMEOUT = 10.0
_DEFAULT_ALLOWED_FAILURES = 3
_SETTLE_SECONDS = 5.0  # for finished Dask tasks to hand their outcome over


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
    Each op's result is moved into this process as soon as the op finishes and the
    cluster's copy is released, so losing a worker re-runs only ops that had not
    finished.

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

    # Each call reaches its worker as a pickled copy, checked there for changes to what
    # the op received (engine.shipped): the engine hands over the op's plain invoke.
    copies_arguments = True

    def __init__(self, client: Any, *, owns_client: bool = False, cluster: Any = None) -> None:
        self._client = client
        self._cluster = cluster
        self._owns_client = owns_client
        self._address = str(client.scheduler.address)
        self._lock = threading.Lock()  # guards _closed and _pending
        self._closed = False
        # Unsettled calls: our future -> (op name, Dask future of its task).
        self._pending: dict[concurrent.futures.Future[Any], tuple[str, Any]] = {}

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
            Cancelling it cancels the task on the cluster.

        An op with a result cache is looked up here first (in the caller's store):
        a hit is returned without shipping anything, and a fresh result is stored
        in the caller's store before the future resolves.

        Raises:
            SerializationError: ``fn`` or an argument cannot be pickled; the message
                names the op and the part that failed.
            ConfigError, UncacheableError: the op's result cache refused the call.
            ClusterError: the executor was shut down (a ``RuntimeError``, as
                ``concurrent.futures`` executors raise).
        """
        outer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        plan = plan_shipping(fn, args, kwargs)
        if plan is not None:
            if plan.value is not MISSING:
                outer.set_result(plan.value)
                return outer
            fn = plan.ship
            if plan.follow is not None:  # another call of the key is running
                plan.follow(functools.partial(self._followed, outer, plan.keep, fn, args,
                                              kwargs, contextvars.copy_context()))
                return outer
            outer.add_done_callback(plan.keep)  # first: stored before anyone sees it
        try:
            self._ship(outer, fn, args, kwargs)
        except BaseException:
            outer.cancel()  # never shipped: calls of its key waiting for it go on
            raise
        return outer

    def _followed(self, outer: concurrent.futures.Future[Any],
                  keep: Callable[[concurrent.futures.Future[Any]], None],
                  fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                  context: contextvars.Context, value: Any, error: BaseException | None
                  ) -> None:
        """A call that waited for a running call of its key: answered from the store
        (``value``), or shipped now (``MISSING``: that call failed, or its result could
        not be stored). Runs on the thread that finished that call; never raises."""
        if outer.done():
            return  # cancelled while it waited
        if error is None and value is MISSING:
            outer.add_done_callback(keep)
            try:
                context.run(self._ship, outer, fn, args, kwargs)
                return
            except BaseException as raised:  # as submit() would have raised it
                error = raised
        context.run(_settle, outer, value, error)

    def _ship(self, outer: concurrent.futures.Future[Any], fn: Callable[..., Any],
              args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Send ``fn(*args, **kwargs)`` to the cluster; its outcome settles ``outer``."""
        name = call_name(fn)
        sent = pickle_call(name, fn, args, kwargs)
        context = contextvars.copy_context()
        with self._lock:
            if self._closed:
                raise ClusterError(
                    f"cannot submit op {name!r} to a DaskExecutor after shutdown() (of the "
                    f"cluster at {self._address}; leaving its `with dask_executor(...)` "
                    "block shuts it down). Call the jitted function inside that block, or "
                    "give it a running executor: f.with_config(executor=...).")
            task = self._client.submit(ShippedCall(name, sent.payload, os.getpid()),
                                       pure=False)
            self._pending[outer] = (name, task)
        outer.add_done_callback(functools.partial(self._cancel_if_cancelled, task))
        self._client.loop.add_callback(self._collect, name, outer, task, context, sent)

    def _cancel_if_cancelled(self, task: Any, outer: concurrent.futures.Future[Any]) -> None:
        if outer.cancelled():
            self._cancel([task])

    def _cancel(self, tasks: list[Any]) -> None:
        """Cancel Dask tasks without blocking (callable from any thread, the loop's too)."""
        if tasks and self._client.status not in ("closing", "closed"):
            self._client.loop.add_callback(
                functools.partial(self._client.cancel, tasks, asynchronous=True))

    async def _collect(self, name: str, outer: concurrent.futures.Future[Any],
                       task: Any, context: contextvars.Context, sent: Sent) -> None:
        """Gather ``task``'s outcome into ``outer`` and release the cluster's copy.

        Runs on the client's event loop. The gather starts as soon as the scheduler
        reports the task finished; releasing the task right after means that a worker
        dying later does not make the scheduler compute it again. The task's value is
        the op's outcome, its result or the exception it raised (``load_outcome``).
        Whatever happens, ``outer`` is settled, in ``context`` (the submitter's): its
        callbacks may submit the next ops, which must see the caller's settings (the
        result cache).
        """
        try:
            outcome = await self._client.gather(task, asynchronous=True)
            value, error = load_outcome(name, outcome, sent)
        except BaseException as raised:  # also CancelledError: the task or loop went away
            value, error = None, self._failure(name, task, raised)
        finally:
            task.release()
        context.run(_settle, outer, value, error)
        with self._lock:
            self._pending.pop(outer, None)

    def _failure(self, name: str, task: Any, raised: BaseException) -> BaseException:
        """The exception the caller sees for a task that did not deliver a result."""
        from distributed import KilledWorker

        if task.status == "error" and isinstance(raised, KilledWorker):
            lost = TaskLostError(
                f"op {name!r} was lost: the Dask workers running it died more often than "
                f"allowed_failures permits. {raised} "
                "Find out why the workers die (memory limits, native crashes), or raise "
                "dask_executor(allowed_failures=...) / the scheduler's "
                "distributed.scheduler.allowed-failures."
            )
            lost.__cause__ = raised
            return lost
        if task.status in ("error", "finished"):
            return raised  # Dask's own failure: the op's outcome comes back as a value
        lost = TaskLostError(
            f"op {name!r} was cancelled by the Dask cluster at {self._address} before "
            "it finished: the connection to the scheduler was lost or the executor was "
            "shut down. Check the scheduler and re-run the call."
        )
        import asyncio  # here, not at import: asyncio costs tens of milliseconds

        lost.__cause__ = None if isinstance(raised, asyncio.CancelledError) else raised
        return lost

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work and release the client and cluster this executor started.

        Args:
            wait: wait for submitted tasks to finish first; ``False`` cancels them, as
                Dask's own executor does.
            cancel_futures: cancel tasks that have not finished instead of waiting.

        When the executor owns its client, a task still unfinished when the client
        closes is settled with ``TaskLostError``, so no caller waits forever. Safe to
        call more than once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = dict(self._pending)
        finish = wait and not cancel_futures
        if finish:
            concurrent.futures.wait(pending)
        else:
            self._cancel([task for _, task in pending.values()])
        if not self._owns_client:
            return
        # Cancelled tasks and outcomes already gathered reach our futures on the loop.
        concurrent.futures.wait(pending, timeout=_SETTLE_SECONDS)
        for future, (name, _) in pending.items():
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
        connect_timeout: seconds for the whole connect (TCP connection and Dask's
            handshake) before giving up.
        allowed_failures: local cluster only: how many workers may die while running
            one task before it fails with ``TaskLostError`` (each death is retried on
            another worker). A remote scheduler uses its own
            ``distributed.scheduler.allowed-failures`` setting.

    Returns:
        A ``DaskExecutor`` for ``Config(executor=...)``.

    Raises:
        XCSError: the ``dask`` extra is not installed, or an argument is invalid.
        ClusterConnectionError: the scheduler could not be reached in time, or the
            address is not a Dask scheduler's (the message says which).
        MainGuardError: worker processes would be started from a script's top-level
            code outside ``if __name__ == "__main__":`` (spawn would re-run it).

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
    check_arguments(address, n_workers, threads_per_worker, connect_timeout, allowed_failures)
    distributed = _require("distributed")
    _require("cloudpickle")
    if address is not None:
        return DaskExecutor(connect_client(distributed, address, connect_timeout),
                            owns_client=True)
    if processes:
        dask = _require("dask")
        check_main_guard(str(dask.config.get("distributed.worker.multiprocessing-method",
                                             "spawn")))
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
        client = connect_client(distributed, cluster, connect_timeout)
    except BaseException:
        cluster.close()
        raise
    return DaskExecutor(client, owns_client=True, cluster=cluster)
