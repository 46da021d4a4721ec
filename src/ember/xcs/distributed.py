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

from __future__ import annotations

import concurrent.futures
import copy
import functools
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from ember.xcs.errors import SerializationError, XCSError

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


class _ShippedCall:
    """A cloudpickled call, run on a worker (module level, so workers can import it).

    The payload is pickled once, in the caller, which is also the serialisation check.
    The result is pickled on the worker, for the same reason: a result Dask cannot
    serialise would otherwise leave the caller waiting forever. ``__name__`` is the
    op's name so that Dask's task keys and dashboard show it.
    """

    __slots__ = ("__name__", "payload")

    def __init__(self, name: str, payload: bytes) -> None:
        self.__name__ = name
        self.payload = payload

    def __call__(self) -> bytes:
        import cloudpickle

        try:
            fn, args, kwargs = cloudpickle.loads(self.payload)
        except Exception as error:
            raise SerializationError(
                f"op {self.__name__!r} could not be loaded on the Dask worker: "
                f"{type(error).__name__}: {error}. Install the op's module on the workers "
                "(same package versions as the caller), or ship it by value with "
                "cloudpickle.register_pickle_by_value(module) before the call."
            ) from None
        replacement: BaseException | None = None
        try:
            value = fn(*args, **kwargs)
        except BaseException as error:
            sendable = _sendable_exception(self.__name__, error)
            if sendable is error:
                raise
            replacement = sendable.with_traceback(error.__traceback__)
        if replacement is not None:
            # Raised outside the except block: Dask pickles __context__ too, and the
            # context would be the original exception that does not pickle.
            raise replacement
        try:
            return bytes(cloudpickle.dumps(value))
        except Exception as error:
            raise SerializationError(
                f"op {self.__name__!r} returned a {type(value).__name__} that cannot be sent "
                f"back from the Dask worker ({type(error).__name__}: {error}). Return plain "
                "data (strings, numbers, lists, dicts, dataclasses), not clients, locks, "
                "generators or open files."
            ) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ShippedCall, (self.__name__, self.payload))


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
        name = _call_name(fn)
        payload = _pickle_call(name, fn, args, kwargs)
        outer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a DaskExecutor after shutdown()")
            self._pending[outer] = name
            inner = self._executor.submit(_ShippedCall(name, payload))
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
                value = _load_result(name, inner.result())
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


def _sendable_exception(name: str, error: BaseException) -> BaseException:
    """``error``, or a copy of it that pickles: same type and message, fewer attributes.

    Dask would turn an exception that does not pickle into a plain ``Exception``; the
    caller must see the op's own exception type, so attributes that do not pickle (a
    client, a lock) are dropped and a note says which.
    """
    links = {"__cause__": error.__cause__, "__context__": error.__context__}
    if _pickles(error) and all(link is None or _pickles(link) for link in links.values()):
        return error
    clone = copy.copy(error)  # same type and arguments; no traceback, cause or context
    dropped = sorted(key for key, value in vars(error).items() if not _pickles(value))
    for key in dropped:
        delattr(clone, key)
    for key, link in links.items():
        if link is not None and _pickles(link):
            setattr(clone, key, link)
        elif link is not None:
            dropped.append(key)
    if _pickles(clone):
        clone.add_note(f"[ember.xcs] {', '.join(dropped)} of this exception could not be "
                       f"sent back from the Dask worker running op {name!r} and were "
                       "dropped.")
        return clone
    return SerializationError(
        f"op {name!r} raised {type(error).__name__}: {error}, which cannot be sent back from "
        "the Dask worker (its arguments do not pickle). Raise exceptions whose arguments "
        "are plain data."
    )


def _load_result(name: str, payload: bytes) -> Any:
    """Unpickle what ``_ShippedCall`` returned, naming the op when that fails."""
    import cloudpickle

    try:
        return cloudpickle.loads(payload)
    except Exception as error:
        raise SerializationError(
            f"the result of op {name!r} came back from the Dask worker but cannot be loaded "
            f"in this process ({type(error).__name__}: {error}). Make the result's classes "
            "importable here (same packages and versions as on the workers)."
        ) from error


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


# -- serialisation check ---------------------------------------------------------------


def _call_name(fn: Callable[..., Any]) -> str:
    """The op name for messages and task keys (``Op.invoke`` names its op)."""
    owner = getattr(fn, "__self__", None)
    name = getattr(owner, "name", None) if _is_op(owner) else None
    if name is None:
        name = getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


def _is_op(value: object) -> bool:
    from ember.xcs.ops import Op

    return isinstance(value, Op)


def _pickle_call(name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> bytes:
    """Pickle the call with cloudpickle, or name the part of it that cannot be pickled."""
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps((fn, args, kwargs)))
    except Exception as error:
        part = _unpicklable_part(fn, args, kwargs)
        raise SerializationError(
            f"op {name!r} cannot be sent to a Dask worker: {part} cannot be pickled "
            f"({type(error).__name__}: {error}). Define the op and the values it uses at "
            "module level, pass picklable arguments (open clients, locks and files are "
            "not; create them inside the op), or run this op on the thread engine."
        ) from error


def _unpicklable_part(fn: Callable[..., Any], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> str:
    """Describe which part of a call does not pickle (``Op.invoke`` is unwrapped)."""
    owner = getattr(fn, "__self__", None)
    if _is_op(owner) and len(args) == 2 and isinstance(args[1], dict):
        fn, (args, kwargs) = owner.fn, args  # type: ignore[union-attr]
    for label, value in _call_parts(fn, args, kwargs):
        if not _pickles(value):
            return _narrow(label, value, depth=3)
    return "the call"


def _call_parts(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
                ) -> Iterator[tuple[str, Any]]:
    yield f"its function {getattr(fn, '__qualname__', fn)!r}", fn
    for index, value in enumerate(args):
        yield f"positional argument {index} ({type(value).__name__})", value
    for key, value in kwargs.items():
        yield f"keyword argument {key!r} ({type(value).__name__})", value


def _pickles(value: Any) -> bool:
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception:
        return False
    return True


def _narrow(label: str, value: Any, depth: int) -> str:
    """Follow ``value`` into the first child that still fails to pickle."""
    if depth == 0:
        return label
    for child_label, child in _children(value):
        if not _pickles(child):
            return _narrow(f"{label}, {child_label}", child, depth - 1)
    return label


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    """The parts pickle would visit, with a readable label each."""
    if isinstance(value, functools.partial):
        yield "its wrapped function", value.func
        yield from ((f"bound argument {i}", a) for i, a in enumerate(value.args))
        yield from ((f"bound keyword {k!r}", v) for k, v in value.keywords.items())
    elif isinstance(value, types.MethodType):
        yield f"its instance ({type(value.__self__).__name__})", value.__self__
    elif isinstance(value, types.FunctionType):
        cells = value.__closure__ or ()
        for var, cell in zip(value.__code__.co_freevars, cells):
            try:
                yield f"closure variable {var!r}", cell.cell_contents
            except ValueError:  # an empty cell pickles fine
                continue
        names = value.__code__.co_names
        yield from ((f"global {n!r}", value.__globals__[n]) for n in names
                    if n in value.__globals__ and not isinstance(value.__globals__[n],
                                                                 types.ModuleType))
    elif isinstance(value, dict):
        yield from ((f"key {k!r}", v) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        yield from ((f"item {i}", v) for i, v in enumerate(value))
    elif hasattr(value, "__dict__"):
        yield from ((f"attribute {k!r}", v) for k, v in vars(value).items())
