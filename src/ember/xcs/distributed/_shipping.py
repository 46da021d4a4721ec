"""Shipping a call to a Dask worker and its outcome back, with errors that name the op.

The call is cloudpickled in the caller (which doubles as the serialisation check, so an
unpicklable op fails before anything is sent, naming the part that failed); the result
is cloudpickled on the worker (a result Dask cannot serialise would otherwise leave the
caller waiting); an exception that does not pickle is trimmed until it does, keeping
its type and message.

Whatever the op raises travels back as the task's *value*, ``(False, pickled
exception, output)``, and is raised again in the caller (``load_outcome``); a result
travels as ``(True, pickled result, output)``. ``output`` is what the op printed on a
worker process, written to the caller's streams first (``engine.captured``).
Raising it out of the Dask task instead would hand it to Dask's worker, which logs
every failed task as "Compute Failed" (an exception the program catches is control
flow, not an error to log), and which only handles ``Exception``: a ``SystemExit`` or
``KeyboardInterrupt`` from an op would never settle the task on a thread worker (the
caller waits forever) and would kill a worker process (Dask runs the op again on
another one, up to ``allowed_failures`` times).
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from ember.xcs.errors import SerializationError

if TYPE_CHECKING:
    from ember.xcs.engine.shipped import Sent
    from ember.xcs.ops import Op

__all__ = ["Outcome", "ShippedCall", "call_name", "load_outcome", "pickle_call",
           "sendable_exception"]

# (True, pickled result, output) or (False, pickled exception, output); output: what
# the op printed on a worker process (engine.captured), empty on a thread worker.
Outcome = tuple[bool, bytes, tuple[tuple[int, str], ...]]


class ShippedCall:
    """A cloudpickled call, run on a worker (module level, so workers can import it).

    The payload is pickled once, in the caller, which is also the serialisation check.
    The result is pickled on the worker, for the same reason: a result Dask cannot
    serialise would otherwise leave the caller waiting forever. Calling it never
    raises: the outcome, result or exception, is its return value (an ``Outcome``).
    ``__name__`` is the op's name so that Dask's task keys and dashboard show it.
    ``origin`` is the caller's process id: in another process, what the op prints
    travels back with the outcome (on a thread worker it is printed where it is).
    """

    __slots__ = ("__name__", "origin", "payload")

    def __init__(self, name: str, payload: bytes, origin: int | None = None) -> None:
        self.__name__ = name
        self.payload = payload
        self.origin = origin

    def __call__(self) -> Outcome:
        if self.origin is None or self.origin == os.getpid():
            return (*self._outcome(), ())
        from ember.xcs.engine.captured import captured

        with captured() as output:
            succeeded, payload = self._outcome()
        return succeeded, payload, tuple(output)

    def _outcome(self) -> tuple[bool, bytes]:
        try:
            return True, self._result()
        except BaseException as error:  # SystemExit too: the op's own, for the caller
            return False, _pickled_exception(self.__name__, error)

    def _result(self) -> bytes:
        import cloudpickle

        from ember.xcs.distributed._pickling import ResultPickler
        from ember.xcs.engine.shipped import Arrived

        try:
            call = Arrived(self.payload)
        except Exception as error:
            raise SerializationError(
                f"op {self.__name__!r} could not be loaded on the Dask worker: "
                f"{type(error).__name__}: {error}. Install the op's module on the workers "
                "(same package versions as the caller), or ship it by value with "
                "cloudpickle.register_pickle_by_value(module) before the call."
            ) from None
        value = call.run(self.__name__, "a Dask worker", cloudpickle.dumps)
        try:
            return call.pickle_result(value, ResultPickler)
        except Exception as error:
            raise SerializationError(
                f"op {self.__name__!r} returned a {type(value).__name__} that cannot be sent "
                f"back from the Dask worker ({type(error).__name__}: {error}). Return plain "
                "data (strings, numbers, lists, dicts, dataclasses), not clients, locks, "
                "generators or open files."
            ) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (ShippedCall, (self.__name__, self.payload, self.origin))


def _pickled_exception(name: str, error: BaseException) -> bytes:
    """``error`` pickled with its traceback (and its cause's and context's), as Dask
    would send it: same type and message, trimmed to what pickles."""
    import cloudpickle
    from tblib import pickling_support  # a dependency of distributed

    pickling_support.install(error)  # tracebacks travel with these exception types
    if type(error).__module__ == "builtins":
        try:
            pickled = bytes(cloudpickle.dumps(_BuiltinException(error)))
            cloudpickle.loads(pickled)
            return pickled
        except Exception:
            pass  # an argument that does not pickle: trimmed below
    sendable = sendable_exception(name, error)
    if sendable is not error:
        sendable = sendable.with_traceback(error.__traceback__)
        pickling_support.install(sendable)
    return bytes(cloudpickle.dumps(sendable))


class _BuiltinException:
    """Pickles a built-in exception as its own ``__reduce__`` says, with its links.

    Dask has tblib pickle every exception type, which makes ``SystemExit`` and
    ``StopIteration`` again without their ``code`` and ``value``; a built-in's own
    reduction is exact.
    """

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __reduce__(self) -> tuple[Any, ...]:
        error = self.error
        kind, args, *state = cast(tuple[Any, ...], error.__reduce__())  # never a str here
        return (_restore_builtin, (kind, args, state[0] if state else None,
                                   error.__traceback__, error.__cause__,
                                   error.__context__, error.__suppress_context__))


def _restore_builtin(kind: type[BaseException], args: tuple[Any, ...],
                     state: dict[str, Any] | None, traceback: types.TracebackType | None,
                     cause: BaseException | None, context: BaseException | None,
                     suppress_context: bool) -> BaseException:
    error = kind(*args)
    if state:
        error.__setstate__(state)
    error.__traceback__ = traceback
    error.__cause__, error.__context__ = cause, context
    error.__suppress_context__ = suppress_context
    return error


def sendable_exception(name: str, error: BaseException) -> BaseException:
    """``error``, or what goes back in its place: same type and message, without the
    attributes that do not pickle (``engine.carried``).

    Dask would turn an exception that does not pickle into a plain ``Exception``; the
    caller must see the op's own exception type.
    """
    import cloudpickle

    from ember.xcs.engine.carried import carry, sendable

    where = f"the Dask worker running op {name!r}"
    if all(link is None or _pickles(link) for link in (error.__cause__, error.__context__)):
        return sendable(error, where, cloudpickle.dumps)
    return carry(error, where, cloudpickle.dumps)  # Dask sends cause and context too


def load_outcome(name: str, outcome: Outcome, sent: Sent) -> tuple[Any, BaseException | None]:
    """``(result, None)`` or ``(None, exception)`` from what ``ShippedCall`` returned for
    the call ``sent`` (an object the op received and handed back is the caller's own),
    naming the op when it cannot be loaded here."""
    import cloudpickle

    from ember.xcs.engine.captured import replay

    succeeded, payload, output = outcome
    replay(output)  # printed during the op: before anyone sees its outcome
    try:
        loaded = sent.load_result(payload) if succeeded else cloudpickle.loads(payload)
    except Exception as error:
        what = "result" if succeeded else "exception"
        failure = SerializationError(
            f"the {what} of op {name!r} came back from the Dask worker but cannot be loaded "
            f"in this process ({type(error).__name__}: {error}). Make its classes "
            "importable here (same packages and versions as on the workers)."
        )
        failure.__cause__ = error
        return None, failure
    return (loaded, None) if succeeded else (None, loaded)


def call_name(fn: Callable[..., Any]) -> str:
    """The op name for messages and task keys (``Op.invoke`` names its op)."""
    owner = getattr(fn, "__self__", None)
    name = getattr(owner, "name", None) if _is_op(owner) else None
    if name is None:
        name = getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


def _is_op(value: object) -> TypeGuard[Op]:
    from ember.xcs.ops import Op

    return isinstance(value, Op)


def pickle_call(name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Sent:
    """Pickle the call with cloudpickle (``engine.shipped.send``), or name the part of
    it that cannot be pickled."""
    from ember.xcs.distributed._pickling import CallPickler
    from ember.xcs.engine.shipped import send

    try:
        return send(CallPickler, fn, args, kwargs)
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
        fn, (args, kwargs) = owner.fn, args
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
