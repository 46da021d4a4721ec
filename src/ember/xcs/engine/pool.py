"""The shared process pool behind ``Config(executor="process")``, and sending work to it.

Work for a process pool is pickled here, in the submitting thread, before it is
handed over: a pool pickles in a background thread and reports a failure as the raw
``PicklingError`` (or ``AttributeError``) of whatever part failed. Pickling first lets
the call raise ``SerializationError`` naming the op and the part, and costs nothing
extra: the pool then sends bytes. A pool whose worker died (``os._exit``, a crash in C
code, the kernel's out-of-memory killer) is broken for good; the call that met it
reports so, and the next call gets a new pool.

The pool's workers are forked from this process when it starts, so they hold the
functions of the main script (or notebook) as they were then; a function pickled by
reference is looked up there. A function of ``__main__`` defined or redefined since
(an edited notebook cell) would be missing, or silently be the old one, so the pool is
replaced first: its workers are forked anew from the current state.

A worker never collects what it inherited (``_freeze_across_forks``). A fork copies
every lock as it is: another thread may hold one, such as the lock of a replaced
pool's manager thread, and a worker whose garbage collector then frees that pool runs
its weak-reference callback, which takes that lock and waits forever.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.xcs.engine.arguments import invoke_watched, location_of, resolve, watch
from ember.xcs.engine.captured import Filters, caller_filters
from ember.xcs.errors import SerializationError, add_note

if TYPE_CHECKING:
    from ember.xcs.engine.shipped import Sent
    from ember.xcs.engine.task import Task

__all__ = ["Pickled", "SharedProcessPool", "is_broken_pool_error", "note_broken_pool",
           "submit_task"]


class SharedProcessPool:
    """One ``ProcessPoolExecutor``, made on first use and replaced once it is broken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._closing_registered = False
        self._main: dict[str, Any] = {}  # __main__'s globals when the pool started

    def get(self, body: Any = None) -> concurrent.futures.ProcessPoolExecutor:
        """The pool to submit ``body`` (an op or function) to: a new one if the last one
        broke, or if ``body`` is a function of ``__main__`` its workers do not have."""
        with self._lock:
            pool = self._pool
            if pool is not None and body is not None and self._unknown(body):
                pool.shutdown(wait=False)  # what it runs finishes; then its workers exit
                pool = None
            if pool is None or getattr(pool, "_broken", False):
                _freeze_across_forks()
                pool = self._pool = concurrent.futures.ProcessPoolExecutor()
                main = sys.modules.get("__main__")
                self._main = dict(vars(main)) if main is not None else {}
                if not self._closing_registered:
                    atexit.register(self.close)
                    self._closing_registered = True
            return pool

    def _unknown(self, body: Any) -> bool:
        """Whether ``body``'s function is of ``__main__`` and not as it was at the fork."""
        fn = getattr(body, "fn", body)
        if getattr(fn, "__module__", None) != "__main__":
            return False
        qualname = str(getattr(fn, "__qualname__", ""))
        if "<" in qualname:  # a lambda or local function: not shipped by reference at all
            return False
        top = qualname.split(".")[0]
        main = sys.modules.get("__main__")
        return top not in self._main or self._main[top] is not getattr(main, top, None)

    def retire(self, pool: concurrent.futures.Executor) -> None:
        """Stop handing out ``pool`` (one of its workers died): the next call makes another."""
        with self._lock:
            if self._pool is not pool:
                return
            # Dropped, not shut down: this may run in the pool's own manager thread (a
            # done callback), and the broken pool's manager cleans up after itself.
            self._pool = None

    def close(self) -> None:
        """Shut the pool down (at exit, while modules are intact: a pool left to the
        interpreter's teardown complains on stderr as it is collected)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_collecting = threading.local()  # whether the collector ran when this thread forked
_fork_hooks: list[bool] = []  # [True] once the hooks below are registered
_fork_hooks_lock = threading.Lock()  # guards _fork_hooks


def _freeze_across_forks() -> None:
    """From the first pool on, a forked child never collects what it inherited: the
    collector is off across each fork, and the child moves every object it inherited
    out of its reach (``gc.freeze``) before it turns it back on. The parent's objects
    are collected as before, and a program's own ``gc.freeze`` is left as it is."""
    with _fork_hooks_lock:
        if not _fork_hooks:
            _fork_hooks.append(True)
            os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                                after_in_child=_after_fork_in_child)


def _before_fork() -> None:
    _collecting.was = gc.isenabled()
    gc.disable()


def _after_fork_in_parent() -> None:
    if getattr(_collecting, "was", False):
        gc.enable()


def _after_fork_in_child() -> None:
    gc.freeze()
    if getattr(_collecting, "was", False):
        gc.enable()


def submit_task(executor: Any, task: Task) -> tuple[concurrent.futures.Future[Any], Sent | None]:
    """Submit ``task``'s body to ``executor`` (a process pool gets it pickled by us).

    An executor whose workers get pickled copies of each call (a process pool, and
    one with ``copies_arguments = True``, the Dask executor) gets the op's plain
    ``invoke``: what the op changes is checked where the copies are (``engine.shipped``).
    Any other executor shares the caller's objects, and gets ``invoke_watched``.

    Returns:
        The future, and for a process pool what was sent (its result loads with it).

    Raises:
        SerializationError: the op or its arguments cannot be pickled for a process pool.
    """
    from ember.xcs.engine.processes import register_for_processes

    op = task.op
    if op is not None:
        register_for_processes(type(op))
    args, kwargs = resolve(task)
    processes = isinstance(executor, concurrent.futures.ProcessPoolExecutor)
    copies = processes or getattr(executor, "copies_arguments", False) is True
    watched = None if copies else watch(task, args, kwargs)
    call: Callable[..., Any]
    call_args: tuple[Any, ...]
    if watched is not None:
        call, call_args = invoke_watched, (op, args, kwargs, watched, location_of(task))
    elif op is not None:
        call, call_args = op.invoke, (args, kwargs)
    else:
        call, call_args = _apply, (task.fn, args, kwargs)
    if processes:
        sent = _pickled_call(task.name, call, call_args, args=args, kwargs=kwargs,
                             body=op if op is not None else task.fn)
        return executor.submit(_call_pickled, sent.payload, task.name, caller_filters()), sent
    future: concurrent.futures.Future[Any] = executor.submit(call, *call_args)
    return future, None


def note_broken_pool(error: BaseException, name: str) -> None:
    """Say on ``error`` (a ``BrokenProcessPool``) what happened and what happens next."""
    add_note(error, f"[ember.xcs] a worker process of the pool running op {name!r} died "
             "(os._exit, a crash in C code, or killed, e.g. for memory); that pool "
             "cannot be used any more. The next executor='process' call starts a new pool.")


def _pickled_call(name: str, call: Callable[..., Any], call_args: tuple[Any, ...], *,
                 body: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sent:
    """``call(*call_args)`` pickled for a process worker (run there by ``_call_pickled``).

    Args:
        name: the op's name, for the message.
        call: what the worker calls (``Op.invoke``, ``invoke_watched``, a function).
        call_args: its arguments (they carry ``body``, ``args`` and ``kwargs``).
        body: the op or function the user wrote, for the message.
        args: the op's positional arguments, for the message.
        kwargs: the op's keyword arguments, for the message.

    Raises:
        SerializationError: a part cannot be pickled; the message names the op, the part
            and how to fix it.
    """
    from multiprocessing.reduction import ForkingPickler

    from ember.xcs.engine.shipped import send

    try:
        return send(ForkingPickler, call, call_args, {})
    except Exception as error:
        raise SerializationError(_unpicklable(name, body, args, kwargs, error)) from error


def _call_pickled(payload: bytes, name: str, filters: Filters | None = None) -> Any:
    """In the worker: ``_run_pickled`` under the caller's warning ``filters``, keeping what
    the op prints for the caller's streams (``engine.captured``): with its result, or on
    the exception it raised."""
    from ember.xcs.engine.captured import captured

    # a pool's worker runs one op at a time
    with captured(warnings=True, filters=filters) as output:
        try:
            result = _run_pickled(payload, name)
        except BaseException as error:
            # In its __dict__ (no __setattr__ or __getattr__ of its class runs), set or
            # cleared: an exception object raised again (a module's constant) must not
            # carry the prints of an earlier call back.
            namespace = _namespace(error)
            if output and namespace is not None:
                namespace["__xcs_output__"] = tuple(output)
            elif namespace is not None:
                namespace.pop("__xcs_output__", None)
            raise
    result.output = tuple(output)
    return result


def replay_output(error: BaseException | None) -> BaseException | None:
    """Write what an op that raised in a worker process printed (``_call_pickled``).

    Returns the op's error to report: ``error``, or what writing its output raised (the
    op's ``print``, before it raised, would have raised that in plain Python). Never
    raises: it runs in a future's callback, which must report the op.
    """
    namespace = _namespace(error)  # not getattr: a class's __getattr__ may raise anything
    output = namespace.pop("__xcs_output__", None) if namespace is not None else None
    if isinstance(output, tuple):
        from ember.xcs.engine.captured import replay

        try:
            replay(output)
        except Exception as failure:
            return failure
    return error


def _namespace(error: BaseException | None) -> dict[str, Any] | None:
    """``error``'s ``__dict__`` (every exception has one; its class's code never runs)."""
    if error is None:
        return None
    namespace = BaseException.__dict__["__dict__"].__get__(error)
    return namespace if type(namespace) is dict else None


def _run_pickled(payload: bytes, name: str) -> Pickled:
    """In the worker: unpickle what ``_pickled_call`` made and call it (``Arrived``
    checks what the op received); an exception goes back as it was raised
    (``engine.carried``)."""
    from multiprocessing.reduction import ForkingPickler

    from ember.xcs.engine.shipped import Arrived, ResultPickler

    call = Arrived(payload)
    replacement: BaseException | None = None
    try:
        value = call.run(name, "a worker process (executor='process')", ForkingPickler.dumps)
    except Exception as error:
        from ember.xcs.engine.carried import sendable

        replacement = sendable(error, f"the worker process running op {name!r}")
        if replacement is error:
            raise
    if replacement is not None:
        raise replacement  # outside the except block: no context that does not pickle
    try:  # pickled here, where a failure can name the op (the pool's own is a bare error)
        return Pickled(call.pickle_result(value, ResultPickler), name)
    except Exception as error:
        raise SerializationError(
            f"op {name!r} returned a {type(value).__name__} that cannot be sent back from "
            f"the worker process ({type(error).__name__}: {error}). Return plain data "
            "(strings, numbers, lists, dicts, dataclasses), not clients, locks, generators "
            "or open files, or run this op on the thread engine.") from None


class Pickled:
    """An op's result pickled in the worker process; ``load`` it in the caller's.
    ``output``: what the op printed there (``engine.captured``)."""

    __slots__ = ("data", "name", "output")

    def __init__(self, data: bytes, name: str, output: tuple[tuple[int, Any], ...] = ()
                 ) -> None:
        self.data = data
        self.name = name
        self.output = output

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pickled, (self.data, self.name, self.output))

    def load(self, sent: Sent) -> Any:
        """The result of the call ``sent`` (an object the op received and handed back is
        the caller's own), or ``SerializationError`` naming the op when it cannot be
        loaded; what the op printed is written to this process's streams first."""
        from ember.xcs.engine.captured import replay

        replay(self.output)
        try:
            return sent.load_result(self.data)
        except Exception as error:
            raise SerializationError(
                f"the result of op {self.name!r} came back from the worker process but "
                f"cannot be loaded here ({type(error).__name__}: {error}).") from error


def _apply(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)`` (sent to an executor as one picklable call)."""
    return fn(*args, **kwargs)


def is_broken_pool_error(error: BaseException | None) -> bool:
    """Whether ``error`` says a process pool lost a worker (and is unusable now)."""
    if error is None:
        return False
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(error, BrokenProcessPool)


def _unpicklable(name: str, body: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                 error: Exception) -> str:
    """The message for a call that cannot be pickled: which part fails, and the fix."""
    from multiprocessing.reduction import ForkingPickler

    def fails(value: Any) -> bool:
        try:
            ForkingPickler.dumps(value)
        except Exception:
            return True
        return False

    # The function first: an unpicklable one is the common case (a lambda, a closure).
    parts: list[tuple[str, Any]] = [("its function", body)]
    parts += [(f"argument {index}", value) for index, value in enumerate(args)]
    parts += [(f"keyword argument {key!r}", value) for key, value in kwargs.items()]
    part = next((label for label, value in parts if fails(value)), "the call")
    return (f"op {name!r} cannot be sent to a worker process (executor='process'): "
            f"{part} cannot be pickled ({type(error).__name__}: {error}). Define the op's "
            "function at module level (lambdas and functions defined inside another "
            "function cannot be pickled), pass picklable arguments, or run it on threads "
            "(Config(executor='thread')).")
