"""``Lazy``: the value an op call returns under ``@jit`` before the op has finished.

A ``Lazy`` stands for a future result. Cheap pure operations on it (``x[k]``,
``x.attr``, ``x.method(...)``, arithmetic, comparisons) are *lifted*: recorded as
small nodes and evaluated as soon as the input exists, so the program keeps going
without waiting. Operations that need a concrete Python value (``bool``, ``str``,
``repr``, ``format``, ``iter``, ``len``, ``hash``, ``int``, ``float``, ``index``,
``in``, ``isinstance`` through ``__class__``) are *barriers*: they wait for this value
only, record where they happened, and continue with the real value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ember.xcs.engine.scheduler import Task
    from ember.xcs.tracing.trace import Trace

__all__ = ["Lazy", "contains_lazy"]

_set = object.__setattr__
_get = object.__getattribute__


def _call(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return target(*args, **kwargs)


class Lazy:
    """A proxy for the result of a traced op (see the module docstring)."""

    __slots__ = ("_xcs_task", "_xcs_trace")

    def __init__(self, task: Task, trace: Trace) -> None:
        _set(self, "_xcs_task", task)
        _set(self, "_xcs_trace", trace)

    # -- barriers -----------------------------------------------------------------

    def _xcs_value(self, reason: str) -> Any:
        return _get(self, "_xcs_trace").force(self, reason)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() asks for this: a barrier
        return type(self._xcs_value("isinstance"))

    def __bool__(self) -> bool:
        return bool(self._xcs_value("bool"))

    def __str__(self) -> str:
        return str(self._xcs_value("str"))

    def __repr__(self) -> str:
        return repr(self._xcs_value("repr"))

    def __format__(self, spec: str) -> str:
        return format(self._xcs_value("format"), spec)

    def __bytes__(self) -> bytes:
        return bytes(self._xcs_value("bytes"))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._xcs_value("iter"))

    def __reversed__(self) -> Iterator[Any]:
        iterator: Iterator[Any] = reversed(self._xcs_value("reversed"))
        return iterator

    def __len__(self) -> int:
        return len(self._xcs_value("len"))

    def __hash__(self) -> int:
        return hash(self._xcs_value("hash"))

    def __int__(self) -> int:
        return int(self._xcs_value("int"))

    def __float__(self) -> float:
        return float(self._xcs_value("float"))

    def __complex__(self) -> complex:
        return complex(self._xcs_value("complex"))

    def __index__(self) -> int:
        return operator.index(self._xcs_value("index"))

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self._xcs_value("round"), ndigits)

    def __contains__(self, item: Any) -> bool:
        return item in self._xcs_value("in")

    def __dir__(self) -> list[str]:
        return dir(self._xcs_value("dir"))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self._xcs_value("pickle").__reduce_ex__(protocol)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._xcs_value("setattr"), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._xcs_value("delattr"), name)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._xcs_value("setitem")[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._xcs_value("delitem")[key]

    # -- lifted operations --------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if (name.startswith("__") and name.endswith("__")) or name.startswith(
            ("_repr_", "_ipython")
        ):
            return getattr(self._xcs_value("getattr"), name)
        return _get(self, "_xcs_trace").lift("getattr", getattr, (self, name), {})

    def __getitem__(self, key: Any) -> Any:
        return _get(self, "_xcs_trace").lift("getitem", operator.getitem, (self, key), {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _get(self, "_xcs_trace").lift("call", _call, (self, *args), kwargs)


def _binary(name: str, fn: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    def forward(self: Lazy, other: Any) -> Any:
        return _get(self, "_xcs_trace").lift(name, fn, (self, other), {})

    def reflected(self: Lazy, other: Any) -> Any:
        return _get(self, "_xcs_trace").lift(name, fn, (other, self), {})

    return forward, reflected


def _unary(name: str, fn: Callable[[Any], Any]) -> Any:
    def method(self: Lazy) -> Any:
        return _get(self, "_xcs_trace").lift(name, fn, (self,), {})

    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift",
              "rshift", "and", "or", "xor"):
    _fn_name = _name + "_" if _name in ("and", "or") else _name
    _forward, _reflected = _binary(_fn_name, getattr(operator, _fn_name))
    setattr(Lazy, f"__{_name}__", _forward)
    setattr(Lazy, f"__r{_name}__", _reflected)
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Lazy, f"__{_name}__", _binary(_name, getattr(operator, _name))[0])
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Lazy, f"__{_name}__", _unary(_name, getattr(operator, _name)))
Lazy.__hash__ = Lazy.__dict__["__hash__"]  # type: ignore[method-assign] # keep the barrier


def contains_lazy(value: Any, depth: int = 4) -> bool:
    """Whether ``value`` is, or holds within lists/tuples/dicts/sets, a ``Lazy``."""
    if type(value) is Lazy:
        return True
    if depth <= 0:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_lazy(item, depth - 1) for item in value)
    if isinstance(value, dict):
        return any(contains_lazy(item, depth - 1) for item in value.values())
    return False
