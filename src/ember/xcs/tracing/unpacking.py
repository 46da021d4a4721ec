"""``f(*x)``, ``f(**x)`` in rewritten glue: what plain Python raises, naming ``f``.

The rewritten call is ``prep_unpacked(f, *splat(x))``, or with ``**`` arguments
``prep_unpacked(keywords(f, *splat(x))({"k": v})(splat_mapping(y)))``:
CPython's own error for a value that cannot be unpacked, or a keyword given twice,
would name the runtime's ``prep``, and an op result (a proxy) would fail later, with
another error. So ``splat`` hands on an op result's value, and carries a value that
cannot be unpacked to ``check_unpacked``, which raises CPython's ``TypeError`` for it,
naming ``f``; calling ``Keywords`` merges each keyword part as CPython does, raising there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ember.xcs.engine.task import TaskState
from ember.xcs.tracing.context import _local
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.outside import outside_value

__all__ = ["Keywords", "as_written", "check_unpacked", "keywords", "splat", "splat_listed",
           "splat_mapping"]


class _Unpackable:
    """A value that ``f(*x)`` or ``f(**x)`` cannot unpack, carried to ``prep_unpacked``,
    which raises what plain Python raises for it (naming ``f``)."""

    __slots__ = ("stars", "value")

    def __init__(self, value: Any, stars: str) -> None:
        self.value = value
        self.stars = stars

    def error(self, fn: Any) -> TypeError:
        wanted = "an iterable" if self.stars == "*" else "a mapping"
        return TypeError(f"{_function_str(fn)} argument after {self.stars} must be {wanted}, "
                         f"not {type(self.value).__name__}")


_ODD_KEYS = "\0ember-xcs: keys that are not strings "  # and a number: one per mapping
_odd_mappings = itertools.count()  # (its next() is atomic: no lock)


def splat(value: Any) -> Any:
    """What ``f(*value)`` in rewritten glue unpacks: an op result's value, or a marker
    for a value that is not iterable."""
    if type(value) is Lazy:
        value = _value_for_unpacking(value, "*")
    cls = type(value)
    if hasattr(cls, "__iter__") or hasattr(cls, "__getitem__"):
        return value
    return (_Unpackable(value, "*"),)


def splat_listed(value: Any) -> Any:
    """What ``f(a, *value)`` (a ``*`` among other positional arguments) unpacks. CPython
    gathers such arguments into a list as it evaluates them, so a value that is not
    iterable raises there, before the later arguments, and names no function."""
    value = splat(value)
    if type(value) is tuple and len(value) == 1 and type(value[0]) is _Unpackable:
        raise TypeError(f"Value after * must be an iterable, not {type(value[0].value).__name__}")
    return value


def splat_mapping(value: Any) -> Any:
    """What ``f(**value)`` in rewritten glue unpacks: an op result's value, or a marker
    for a value that is not a mapping."""
    if type(value) is Lazy:
        value = _value_for_unpacking(value, "**")
    if isinstance(value, dict) or hasattr(type(value), "keys"):
        if type(value) is dict and not all(type(key) is str for key in value):
            return _odd_keys(value)
        return value
    return _Unpackable(value, "**")  # raised by ``check_unpacked``, naming the function


def _odd_keys(value: dict[Any, Any]) -> dict[Any, Any]:
    """A dict to unpack with keys that are not all strings: an op's answer as a key
    (``f(**{field(x): v})``) is its value, a keyword's name as in plain Python; other keys
    no Python function (``prep``) takes are handed on to ``as_written``."""
    if any(type(key) is Lazy for key in value):
        value = {_value_for_unpacking(key, "**") if type(key) is Lazy else key: item
                 for key, item in value.items()}
        if all(type(key) is str for key in value):
            return value
    return {f"{_ODD_KEYS}{next(_odd_mappings)}": value}


def as_written(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> Callable[[], Any] | None:
    """The call ``fn(*args, **mapping)`` as written, when ``mapping`` has keys that are
    not strings: a C function takes them (``"{total}".format(**counts)`` looks
    ``total`` up in them), a Python function refuses them; else ``None``."""
    if not any(key.startswith(_ODD_KEYS) for key in kwargs):
        return None
    merged: dict[Any, Any] = {}
    for key, value in kwargs.items():  # in the call's order: f(x=1, **a, **b)
        given = value if key.startswith(_ODD_KEYS) else {key: value}
        if any(name in merged for name in given):
            fn(*args, **merged, **given)  # a key given twice: Python raises its own error
        merged.update(given)
    return lambda: fn(*args, **merged)


def _value_for_unpacking(value: Lazy, stars: str) -> Any:
    trace = _local.trace
    if trace is None or not hasattr(trace, "force"):
        return outside_value(value)
    if getattr(trace, "asynchronous", False):  # async glue cannot wait here (its loop):
        task = object.__getattribute__(value, "_xcs_task")  # but it awaited the value first
        return task.value if task.state is TaskState.DONE else value
    return trace.force(value, f"{stars} unpacking")


class Keywords:
    """A call ``f(*x, k=v, **m)`` whose keywords are being evaluated: its callee, its
    positional arguments, and its keywords merged so far (``runtime_calls.keyword_chain``
    calls it with each part as it is evaluated, as CPython merges them)."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(self, fn: Any, /, *args: Any) -> None:
        self.fn = fn
        self.args = args
        self.kwargs: dict[Any, Any] = {}

    def __call__(self, part: Any) -> Keywords:
        """Merge ``part`` (a dict of keywords, or what ``splat_mapping`` gave), raising
        plain Python's error for it at once."""
        merged = self.kwargs
        if type(part) is dict and (not merged or merged.keys().isdisjoint(part)):
            merged.update(part)  # the common case, inline: this runs per call in glue
        else:
            _merge(self.fn, merged, part)
        return self


keywords = Keywords  # the start of a call with ``**`` arguments: callee, positional ones


def check_unpacked(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                   ) -> tuple[Any, tuple[Any, ...], dict[Any, Any]]:
    """The call's callee and arguments (from its ``Keywords`` when it has ``**`` ones),
    raising (naming the callee) plain Python's error for a ``*`` value that cannot be
    unpacked: CPython unpacks those after merging the keywords."""
    if type(fn) is Keywords:
        fn, args, kwargs = fn.fn, fn.args, fn.kwargs
    for value in args:
        if type(value) is _Unpackable:
            raise value.error(fn)
    return fn, args, kwargs


def _merge(fn: Any, merged: dict[Any, Any], part: Any) -> None:
    """Merge ``part`` into ``merged`` as CPython's ``DICT_MERGE`` does: a dict's items at
    once; another mapping by its ``keys()``, reading each key's value only once it is
    known not to be given already (a key given twice raises before its value is read)."""
    if type(part) is dict:  # the explicit keywords, or a dict (the common case)
        if merged and not merged.keys().isdisjoint(part):
            _given_twice(fn, next(key for key in part if key in merged))
        merged.update(part)
    elif type(part) is _Unpackable:
        raise part.error(fn)
    elif isinstance(part, dict) and type(part).__iter__ is dict.__iter__:
        for key, value in dict.items(part):  # CPython reads such a dict's own storage
            if key in merged:
                _given_twice(fn, key)
            merged[key] = value
    else:
        for key in list(part.keys()):
            if key in merged:
                _given_twice(fn, key)
            merged[key] = part[key]


def _given_twice(fn: Any, key: Any) -> None:
    what = (f"got multiple values for keyword argument '{key}'" if isinstance(key, str)
            else "keywords must be strings")
    raise TypeError(f"{_function_str(fn)} {what}")


def _function_str(fn: Any) -> str:
    """How CPython names a callable in its call errors (``_PyObject_FunctionStr``):
    ``module.qualname()``, ``qualname()`` for builtins, else ``str(fn)`` (an instance
    with ``__call__``, a ``functools.partial``)."""
    if type(fn) is Lazy:  # a method of an op result: plain Python had its value
        fn = _value_for_unpacking(fn, "*")
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None:
        return str(fn)
    module = getattr(fn, "__module__", None)
    if module is not None and module != "builtins":
        return f"{module}.{qualname}()"
    return f"{qualname}()"
