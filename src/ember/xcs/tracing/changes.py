"""What a call of library code changes in place, so that it waits for the ops holding it.

``holding.Holders`` knows which ops hold which objects; ``changed_by`` names the object a
call may change: a container's or an object's method's own object, ``setattr``'s, an
``out=`` array, a random generator it is given (it may draw from it), and for a
generator's ``shuffle`` both the array it shuffles and the generator (``Changes``).

Example:
    >>> notes = []
    >>> changed_by(notes.append, (1,), {}) is notes, changed_by(len, (notes,), {})
    (True, None)
"""

from __future__ import annotations

import array
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.generators import generator_classes, given_generator
from ember.xcs.tracing.immediate import outputs_after_inputs
from ember.xcs.tracing.methods import PURE_METHODS
from ember.xcs.tracing.usercode import is_pandas_type

__all__ = ["Changes", "changed_by", "is_buffer", "outputs_after_inputs"]

_BUFFERS = (bytearray, array.array)


class Changes(list[Any]):
    """Several objects one call changes (``rng.shuffle(arr)``: ``arr`` and ``rng``)."""


def changed_by(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The object a call of ``fn`` may change in place (``None`` if none is known).

    A container's method (``notes.append``; not reading ones: ``get``), an object's method,
    ``setattr``/``delattr``'s object, an ``out=`` array, a random generator given to it.
    """
    if (fn is setattr or fn is delattr) and args:
        return args[0]
    if kwargs and "out" in kwargs:
        out = kwargs["out"]
        return out[0] if type(out) is tuple and out else out
    if outputs_after_inputs(fn, args):  # np.add(buf, r, buf)
        return args[fn.nin]
    if (generator := given_generator(fn, args, kwargs)) is not None:
        return generator  # stats.norm.rvs(random_state=rng) draws from it
    kind = type(fn)
    if kind is types.BuiltinFunctionType or kind is types.MethodType:
        owner = getattr(fn, "__self__", None)
        if owner is None or type(owner) in tree.ATOMS or isinstance(owner, types.ModuleType):
            return None
        if kind is types.BuiltinFunctionType and fn.__name__ in PURE_METHODS:
            return None
        if is_pandas_type(type(owner)):  # df.head() reads; df.pop() not
            return owner if kwargs.get("inplace") or fn.__name__ in _PANDAS_CHANGES else None
        if fn.__name__ == "shuffle" and args and isinstance(owner, generator_classes()):
            return Changes([args[0], owner])  # rng.shuffle(arr): arr, and rng's state
        if type(owner).__module__ == "numpy" and is_buffer(owner):  # arr.mean(); arr.fill()
            return owner if fn.__name__ in _ARRAY_CHANGES else None
        return owner
    return None


# Methods that change a NumPy array, or a pandas object, itself (besides ``out=`` and
# ``inplace=True``; ``a += 1`` and ``df[k] = v`` are stores, seen by ``changing``).
_ARRAY_CHANGES = frozenset({"fill", "sort", "partition", "resize", "put", "itemset",
                            "setfield", "setflags", "byteswap"})
_PANDAS_CHANGES = frozenset({"insert", "pop", "update", "__setitem__", "__delitem__"})


def is_buffer(value: Any) -> bool:
    """Whether ``value`` is shared memory the glue may change in place (not copied by a
    snapshot): a NumPy array, a ``bytearray`` or an ``array.array``."""
    cls = type(value)
    return cls in _BUFFERS or any(base.__name__ == "ndarray" and base.__module__ == "numpy"
                                  for base in cls.__mro__)
