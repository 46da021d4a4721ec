"""``Proxy``: the one base class of values that stand for results not computed yet.

``Lazy`` (a jitted call's op results) and ``Symbol`` (``autograph`` recordings) both
derive from it, so the set of operations that are *lifted* (recorded as a node that
runs when its inputs exist) and the set that need a real value (*barriers*) are
defined once, here, and cannot drift apart.

A subclass implements two methods:

- ``_xcs_lift(name, fn, args, kwargs, mutates)`` records ``fn(*args, **kwargs)`` as a
  node (``mutates``: it may change its first argument in place, so it is ordered
  after earlier reads and before later ones) and returns a new proxy (or ``None``
  for statements such as ``x[k] = v``);
- ``_xcs_force(reason)`` returns the real value (a barrier) or raises.

Lifted: attribute access, indexing, calls, arithmetic, comparisons, in-place
operators (``x += y`` mutates ``x`` like plain Python would), item and attribute
assignment and deletion, and NumPy ufuncs. Barriers: everything whose result Python
or C code needs as a real object: ``bool``, ``str``, ``repr``, ``format``, ``bytes``,
``iter``, ``next``, ``len``, ``hash``, ``int``, ``float``, ``complex``, ``index``,
``round``, ``in``, ``dir``, pickling and copying, ``os.fspath``, ``with``,
``isinstance`` (through ``__class__``) and NumPy array conversion.
"""

from __future__ import annotations

import array
import collections
import math
import operator
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ember.xcs.tracing.versions import comparison, in_place_operator

__all__ = ["CHANGED_IN_PLACE", "IN_PLACE", "Proxy"]

_get = object.__getattribute__


def _call(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return target(*args, **kwargs)


def _set_attribute(target: Any, name: str, value: Any) -> None:
    setattr(target, name, value)


def _delete_attribute(target: Any, name: str) -> None:
    delattr(target, name)


def _array_ufunc(ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    return getattr(ufunc, method)(*inputs, **kwargs)


class Proxy:
    """Base of ``Lazy`` and ``Symbol`` (see the module docstring)."""

    __slots__ = ()

    # pandas objects hand a binary operation (``df.score > t``) to an operand of higher
    # priority (their own is 4000 at most): the proxy's reflected method then runs it,
    # on the value, instead of pandas inspecting the proxy as if it were the value.
    __pandas_priority__ = 10_000

    def _xcs_lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                  kwargs: dict[str, Any], mutates: bool = False) -> Any:
        raise NotImplementedError

    def _xcs_force(self, reason: str) -> Any:
        raise NotImplementedError

    # -- barriers -----------------------------------------------------------------------

    # isinstance() asks for __class__: a property here makes it a barrier (mypy frowns on
    # overriding __class__, which is the point).
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._xcs_force("isinstance"))

    def __bool__(self) -> bool:
        return bool(self._xcs_force("bool"))

    def __str__(self) -> str:
        return str(self._xcs_force("str"))

    def __repr__(self) -> str:
        return repr(self._xcs_force("repr"))

    def __format__(self, spec: str) -> str:
        return format(self._xcs_force("format"), spec)

    def __bytes__(self) -> bytes:
        return bytes(self._xcs_force("bytes"))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._xcs_force("iter"))

    def __next__(self) -> Any:
        return next(self._xcs_force("next"))

    def __reversed__(self) -> Iterator[Any]:
        iterator: Iterator[Any] = reversed(self._xcs_force("reversed"))
        return iterator

    def __len__(self) -> int:
        return len(self._xcs_force("len"))

    def __hash__(self) -> int:
        return hash(self._xcs_force("hash"))

    def __int__(self) -> int:
        return int(self._xcs_force("int"))

    def __float__(self) -> float:
        return float(self._xcs_force("float"))

    def __complex__(self) -> complex:
        return complex(self._xcs_force("complex"))

    def __index__(self) -> int:
        return operator.index(self._xcs_force("__index__"))  # "index": the rewriter's

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self._xcs_force("round"), ndigits)

    def __trunc__(self) -> Any:
        return math.trunc(self._xcs_force("trunc"))

    def __floor__(self) -> Any:
        return math.floor(self._xcs_force("floor"))

    def __ceil__(self) -> Any:
        return math.ceil(self._xcs_force("ceil"))

    def __contains__(self, item: Any) -> bool:
        return item in self._xcs_force("in")

    def __dir__(self) -> list[str]:
        return dir(self._xcs_force("dir"))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self._xcs_force("pickle").__reduce_ex__(protocol)

    def __copy__(self) -> Any:
        import copy

        return copy.copy(self._xcs_force("copy"))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        import copy

        return copy.deepcopy(self._xcs_force("deepcopy"), memo)

    def __sizeof__(self) -> int:
        return int(self._xcs_force("sizeof").__sizeof__())

    def __fspath__(self) -> Any:
        import os

        return os.fspath(self._xcs_force("fspath"))

    def __enter__(self) -> Any:
        return self._xcs_force("with").__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._xcs_force("with").__exit__(*exc)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy

        return numpy.asarray(self._xcs_force("numpy array"), dtype=dtype)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from ember.xcs import tree

        def real(value: Any) -> Any:
            return value._xcs_force("numpy function")

        return func(*tree.replace(list(args), real, type(self)),
                    **tree.replace(dict(kwargs), real, type(self)))

    # -- lifted -------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if (name.startswith("__") and name.endswith("__")) or name.startswith(
            ("_repr_", "_ipython", "_xcs_")
        ):
            return getattr(self._xcs_force("getattr"), name)
        return self._xcs_lift("getattr", getattr, (self, name), {})

    def __getitem__(self, key: Any) -> Any:
        return self._xcs_lift("getitem", operator.getitem, (self, key), {})

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        return self._xcs_lift("call", _call, (self, *args), kwargs, mutates=True)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._xcs_lift("setitem", operator.setitem, (self, key, value), {}, mutates=True)

    def __delitem__(self, key: Any) -> None:
        self._xcs_lift("delitem", operator.delitem, (self, key), {}, mutates=True)

    def __setattr__(self, name: str, value: Any) -> None:
        self._xcs_lift("setattr", _set_attribute, (self, name, value), {}, mutates=True)

    def __delattr__(self, name: str) -> None:
        self._xcs_lift("delattr", _delete_attribute, (self, name), {}, mutates=True)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return self._xcs_lift(f"numpy {ufunc.__name__}", _array_ufunc,
                              (ufunc, method, *inputs), kwargs)


# Containers that ``items += reply`` changes in place, where Python asks the proxy's
# reflected method before the container's own in-place code (``list`` has no in-place
# number slot; ``set.__ior__`` declines a non-set). The rewriter's ``observing.inplace``
# gives them real values for a name; for ``self.items += reply`` they come here.
CHANGED_IN_PLACE = (list, bytearray, collections.deque, array.array, set, dict)


def _binary(name: str, fn: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    in_place = getattr(operator, f"i{name}", None)

    def forward(self: Proxy, other: Any) -> Any:
        return self._xcs_lift(name, fn, (self, other), {})

    def reflected(self: Proxy, other: Any) -> Any:
        if in_place is not None and isinstance(other, CHANGED_IN_PLACE) \
                and in_place_operator(sys._getframe(1)):
            # ``results += search(q)``: plain Python extends the very list ``results``
            # names (the caller's, an alias's); a lifted ``results + value`` would only
            # rebind the name to a new list.
            return in_place(other, self._xcs_force(f"{type(other).__name__} i{name}"))
        return self._xcs_lift(name, fn, (other, self), {})

    return forward, reflected


def _in_place(name: str, fn: Callable[[Any, Any], Any]) -> Any:
    def method(self: Proxy, other: Any) -> Any:
        return self._xcs_lift(name, fn, (self, other), {}, mutates=True)

    return method


def _unary(name: str, fn: Callable[[Any], Any]) -> Any:
    def method(self: Proxy) -> Any:
        return self._xcs_lift(name, fn, (self,), {})

    return method


_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "lshift",
               "rshift", "and", "or", "xor")
for _name in _ARITHMETIC:
    _fn_name = _name + "_" if _name in ("and", "or") else _name
    _forward, _reflected = _binary(_name, getattr(operator, _fn_name))
    setattr(Proxy, f"__{_name}__", _forward)
    setattr(Proxy, f"__r{_name}__", _reflected)
    setattr(Proxy, f"__i{_name}__", _in_place(f"i{_name}", getattr(operator, f"i{_name}")))
IN_PLACE = frozenset(f"i{name}" for name in _ARITHMETIC)  # what ``x op= y`` lifts as
_divmod_forward, _divmod_reflected = _binary("divmod", divmod)
setattr(Proxy, "__divmod__", _divmod_forward)  # noqa: B010 - like the loops above
setattr(Proxy, "__rdivmod__", _divmod_reflected)  # noqa: B010
# A comparison's reflection: ``x < p`` calls ``p.__gt__(x)`` once ``x`` declined.
_MIRRORED = {"lt": ("gt", ">"), "gt": ("lt", "<"), "le": ("ge", ">="), "ge": ("le", "<=")}


def _ordering(name: str) -> Any:
    fn = getattr(operator, name)
    mirrored, symbol = _MIRRORED[name]
    mirrored_fn = getattr(operator, mirrored)

    def method(self: Proxy, other: Any) -> Any:
        if not isinstance(other, Proxy) and comparison(sys._getframe(1)) == symbol:
            # Reflected (``"3" < score``): run the comparison as written, so that it asks
            # the operands in Python's order and fails with plain Python's message.
            return self._xcs_lift(mirrored, mirrored_fn, (other, self), {})
        return self._xcs_lift(name, fn, (self, other), {})

    return method


for _name in ("eq", "ne"):
    setattr(Proxy, f"__{_name}__", _binary(_name, getattr(operator, _name))[0])
for _name in _MIRRORED:
    setattr(Proxy, f"__{_name}__", _ordering(_name))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Proxy, f"__{_name}__", _unary(_name, getattr(operator, _name)))
# Defining __eq__ above set __hash__ to None; put the barrier back.
Proxy.__hash__ = Proxy.__dict__["__hash__"]  # type: ignore[method-assign]
