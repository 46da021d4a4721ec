"""How a method call on an op result runs: lifted as a read, lifted as a change, or now.

``reply.strip()`` and ``row.get("k")`` only read their object: lifted, they run once
the value exists while the glue goes on. ``rows.append(x)`` changes it: lifted too,
ordered with the value's other uses (``tracing.lazy``). The methods of other objects
may act on the world outside the value: ``path.write_text(s)`` writes a file,
``path.replace(target)`` renames one, ``thread.join()`` waits for a thread, and the
lines after the call see that by another path. Such a call runs at its call site, on
the real object, as in plain Python.

The decision goes by the class the method comes from, when the object's class is
known before its value exists (an op's return annotation, the class its source
constructs, its previous result): the methods of ``str``, ``bytes``, numbers and the
built-in containers by what each one does; those of data (dataclasses, pydantic
models, NumPy arrays, ``UserDict``...) as reads or changes of it; those of immutable
values (``datetime``, ``re.Match``, ``Decimal``, ``PurePath``...) as reads; any other
class's run at the call. When the class is not known yet, it goes by the name: a
method name of ``str``, ``bytes``, numbers or the containers is taken to be theirs
(so ``path.replace(...)`` on the first call of an op not known to return a ``Path``
is lifted as ``str.replace``: see Known limits), any other name runs at the call.

Example:
    >>> import pathlib
    >>> [method_call(str, "replace").name, method_call(pathlib.Path, "replace").name,
    ...  method_call(None, "strip").name, method_call(None, "write_text").name]
    ['READS', 'NOW', 'READS', 'NOW']
"""

from __future__ import annotations

import collections
import enum
import pathlib

from ember.xcs.tracing.usercode import runs_user_code
from ember.xcs.tree import data_record

__all__ = ["PURE_METHODS", "MethodCall", "method_call"]

# Methods that never change their object (of str, bytes, numbers, dict, list, set,
# tuple, pydantic models): calling them on a lazy value is a read.
PURE_METHODS = frozenset({
    "capitalize", "casefold", "center", "count", "encode", "decode", "endswith",
    "expandtabs", "find", "format", "format_map", "index", "isalnum", "isalpha", "isascii",
    "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
    "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
    "translate", "upper", "zfill", "hex", "get", "keys", "values", "items", "copy",
    "difference", "intersection", "union", "issubset", "issuperset", "isdisjoint",
    "symmetric_difference", "as_integer_ratio", "bit_length", "conjugate", "is_integer",
    "model_dump", "model_dump_json", "model_copy", "json", "dict", "tolist",
})


class MethodCall(enum.Enum):
    """How a method call on a lazy value runs (see the module docstring)."""

    READS = "reads"  # lifted: it only reads its object
    CHANGES = "changes"  # lifted, ordered as a change of its object
    NOW = "now"  # at its call site, on the real object


_IMMUTABLE = (str, bytes, int, float, complex, bool, tuple, frozenset, range)
_CONTAINERS = (list, dict, set, collections.deque, bytearray)
# Method names of the built-in values, for an object whose class is not known (range's
# ``start`` is left out: ``thread.start()`` is the likelier call).
_VALUE_NAMES = frozenset(name for cls in (*_IMMUTABLE[:-1], *_CONTAINERS)
                         for name in dir(cls) if not name.startswith("_"))
# Library classes of immutable values: all their methods read.
_VALUES = frozenset({("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
                     ("datetime", "tzinfo"), ("decimal", "Decimal"), ("fractions", "Fraction"),
                     ("uuid", "UUID"), ("re", "Match"), ("re", "Pattern"), ("enum", "Enum")})


def method_call(cls: type | None, name: str) -> MethodCall:
    """How ``obj.name(...)`` runs on a lazy value whose class is ``cls`` (``None``: not
    known yet)."""
    if cls is None:
        if name in PURE_METHODS:
            return MethodCall.READS
        return MethodCall.CHANGES if name in _VALUE_NAMES else MethodCall.NOW
    if cls in _IMMUTABLE:  # the common known classes first: no code of the user's there
        return MethodCall.READS
    if cls in _CONTAINERS:
        return MethodCall.READS if name in PURE_METHODS else MethodCall.CHANGES
    if runs_user_code(cls, name) or not any(name in base.__dict__ for base in cls.__mro__):
        return MethodCall.NOW  # the user's method; a function stored on the object itself
    if issubclass(cls, _IMMUTABLE) or _immutable_value(cls):
        return MethodCall.READS
    if issubclass(cls, _CONTAINERS) or _data(cls):
        return MethodCall.READS if name in PURE_METHODS else MethodCall.CHANGES
    return MethodCall.NOW


def _immutable_value(cls: type) -> bool:
    return (issubclass(cls, pathlib.PurePath) and not issubclass(cls, pathlib.Path)) or any(
        (base.__module__, base.__qualname__) in _VALUES for base in cls.__mro__)


def _data(cls: type) -> bool:
    """Whether ``cls`` holds data its methods read or change, and nothing outside."""
    return data_record(cls) or any(base.__module__ == "numpy" and base.__name__
                                   in ("ndarray", "generic") for base in cls.__mro__)
