"""Shipping a call to a Dask worker and its outcome back, with errors that name the op.

The call is cloudpickled in the caller (which doubles as the serialisation check, so an
unpicklable op fails before anything is sent, naming the part that failed); the result
is cloudpickled on the worker (a result Dask cannot serialise would otherwise leave the
caller waiting); an exception that does not pickle is trimmed until it does, keeping
its type and message.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeGuard

from ember.xcs.errors import SerializationError

if TYPE_CHECKING:
    from ember.xcs.engine.shipped import Sent
    from ember.xcs.ops import Op

__all__ = ["ShippedCall", "call_name", "load_result", "pickle_call", "sendable_exception"]


class ShippedCall:
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
        replacement: BaseException | None = None
        try:
            value = call.run(self.__name__, "a Dask worker", cloudpickle.dumps)
        except BaseException as error:
            sendable = sendable_exception(self.__name__, error)
            if sendable is error:
                raise
            replacement = sendable.with_traceback(error.__traceback__)
        if replacement is not None:
            # Raised outside the except block: Dask pickles __context__ too, and the
            # context would be the original exception that does not pickle.
            raise replacement
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
        return (ShippedCall, (self.__name__, self.payload))


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


def load_result(name: str, payload: bytes, sent: Sent) -> Any:
    """Unpickle what ``ShippedCall`` returned for the call ``sent`` (an object the op
    received and handed back is the caller's own), naming the op when that fails."""
    try:
        return sent.load_result(payload)
    except Exception as error:
        raise SerializationError(
            f"the result of op {name!r} came back from the Dask worker but cannot be loaded "
            f"in this process ({type(error).__name__}: {error}). Make the result's classes "
            "importable here (same packages and versions as on the workers)."
        ) from error


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
