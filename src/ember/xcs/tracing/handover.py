"""Functions and iterators of the glue handed to a data library (pandas, NumPy...).

``df.apply(lambda row: classify(row.text), axis=1)``, ``s.map(classify)``,
``np.vectorize(score)`` and ``pd.Series(map(classify, texts))`` have the library call
the user's function (or op), or read the user's iterator, and use what comes back at
once: it checks the type and the dtype of each result, and keeps the results in its
own arrays, where escape repair never looks. In plain Python those results were values;
a lazy result would be answered wrongly (``'str' object has no attribute '_typ'``) or
kept as a proxy. So such a function is handed over wrapped: each call gives values
(the ops inside it still run in parallel with each other; the call waits for them at
its end), and runs the rewritten form of a function of the user's, as the glue would.
An iterator is handed over as a generator of values.

Only calls into the data libraries are handled so: other libraries may keep a function
by identity or through a weak reference (``atexit``, signal handlers), and wrapping it
would change what they keep.

Example:
    >>> import numpy as np
    >>> from_data_library(np.vectorize), from_data_library(print)
    (True, False)
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator
from typing import Any

from ember.xcs import tree
from ember.xcs.ops import Op
from ember.xcs.tracing.callees import Callee, classify
from ember.xcs.tracing.context import _local
from ember.xcs.tracing.lazy import Lazy

__all__ = ["from_data_library", "handed_over"]

# Top-level packages whose functions call the functions they are given at once and
# keep what they return.
_DATA_PACKAGES = frozenset({"pandas", "numpy", "scipy", "polars", "pyarrow", "sklearn",
                            "statsmodels", "xarray"})
_ITERATORS = frozenset({types.GeneratorType, map, filter, zip})


def from_data_library(fn: Any) -> bool:
    """Whether ``fn`` (a function, class or bound method) belongs to a data library."""
    module = getattr(fn, "__module__", None)
    if not isinstance(module, str):
        owner = getattr(fn, "__self__", None)
        module = type(owner).__module__ if owner is not None else None
    return isinstance(module, str) and module.partition(".")[0] in _DATA_PACKAGES


def handed_over(trace: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                reason: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args`` and ``kwargs`` of a data library call, with the glue's functions and
    iterators among them replaced by forms that give values (see the module doc)."""
    return (tuple(_handed(trace, value, reason) for value in args),
            {name: _handed(trace, value, reason) for name, value in kwargs.items()})


def _handed(trace: Any, value: Any, reason: str) -> Any:
    cls = type(value)
    if cls in tree.ATOMS or cls is Lazy:
        return value
    if cls in _ITERATORS:
        return _values_of_items(trace, value, reason)
    if cls is dict or cls is list or cls is tuple:  # pd.DataFrame({"label": map(f, xs)})
        items = value.values() if cls is dict else value
        if not any(type(item) in _ITERATORS or (callable(item) and not isinstance(item, type))
                   for item in items):
            return value
        if cls is dict:
            return {key: _handed(trace, item, reason) for key, item in value.items()}
        return cls(_handed(trace, item, reason) for item in value)
    if not callable(value) or isinstance(value, type):
        return value
    kind = classify(value.func if cls is functools.partial else value)
    if kind is Callee.USER and cls is not functools.partial:
        return _giving_values(trace, value, trace.instrumented(value), reason)
    if kind is Callee.OP or kind is Callee.USER:
        return _giving_values(trace, value, value, reason)
    return value


def _values(trace: Any, result: Any, reason: str) -> Any:
    """``result`` with the lazy values of ``trace`` inside it replaced by their values
    (waited for), while ``trace`` runs in this thread."""
    owner: Any = trace  # (``trace`` itself is narrowed by the comparison below)
    if _local.trace is not trace or owner.finished or type(result) in tree.ATOMS:
        return result
    if type(result) is Lazy or tree.contains(result, Lazy, records=True):
        return owner.force_tree(result, reason, records=True)
    return result


def _giving_values(trace: Any, fn: Any, target: Any, reason: str) -> Any:
    """A function calling ``target`` (``fn`` or its rewritten form) and giving values."""

    def giving_values(*args: Any, **kwargs: Any) -> Any:
        return _values(trace, target(*args, **kwargs), reason)

    if type(fn) is not Op:  # an op's attributes are its own (name, cache...): not copied
        functools.update_wrapper(giving_values, fn, updated=())
    else:
        giving_values.__name__ = giving_values.__qualname__ = fn.name
        giving_values.__wrapped__ = fn  # type: ignore[attr-defined]
    return giving_values


def _values_of_items(trace: Any, items: Any, reason: str) -> Iterator[Any]:
    for item in items:
        yield _values(trace, item, reason)
