"""Functions and iterators of the glue handed to a data library (pandas, NumPy...).

``df.apply(lambda row: classify(row.text), axis=1)``, ``s.map(classify)``,
``np.vectorize(score)``, ``pd.Series(map(classify, texts))`` and
``con.executemany(sql, ((q, ask(q)) for q in qs))`` have the library call the user's
function (or op), or read the user's iterator, and use what comes back at once: it
checks the type and the dtype of each result (sqlite3 binds each parameter by its
type), and keeps the results in its own arrays, where escape repair never looks. In
plain Python those results were values; a lazy result would be answered wrongly
(``'str' object has no attribute '_typ'``, ``type 'Lazy' is not supported``) or
kept as a proxy. So such a function is handed over wrapped: each call gives values
(the ops inside it still run in parallel with each other; the call waits for them at
its end), and runs the rewritten form of a function of the user's, as the glue would.
An iterator is handed over as a generator of values.

An op given an iterator of the glue's is the converse case: ``hands_over_iterator``
tells the trace to run it at its call, since the glue may read the same iterator
after it. So does a lifted operation (``tracing.immediate``), which is then handed its
iterators as generators of values (``iterators_giving_values``).

Only calls into the data libraries are handled so: other libraries may keep a function
by identity or through a weak reference (``atexit``, signal handlers), and wrapping it
would change what they keep.

Example:
    >>> import numpy as np
    >>> from_data_library(np.vectorize), from_data_library(print)
    (True, False)
"""

from __future__ import annotations

import collections
import functools
import types
from collections.abc import Iterator
from typing import Any

from ember.xcs import tree
from ember.xcs.ops import Op
from ember.xcs.tracing.callees import Callee, classify
from ember.xcs.tracing.context import _local
from ember.xcs.tracing.lazy import Lazy

__all__ = ["from_data_library", "handed_over", "hands_over_iterator",
           "iterators_giving_values"]

# Top-level packages whose functions call the functions they are given at once and
# keep what they return.
_DATA_PACKAGES = frozenset({"pandas", "numpy", "scipy", "polars", "pyarrow", "sklearn",
                            "statsmodels", "xarray", "sqlite3"})
_ITERATORS = frozenset({types.GeneratorType, map, filter, zip})
_ITERATOR_MODULES = frozenset({"builtins", "itertools"})  # not files: they are read, not iterated
_VIEWS = {type({}.values()): "values", type({}.items()): "items", type({}.keys()): "keys"}
# What an op or lifted operation given one reads the glue's own dict through, at its call.
_LIVE_VIEWS = frozenset({*_VIEWS, types.MappingProxyType,
                         *(type(getattr(collections.OrderedDict(), name)())
                           for name in ("keys", "values", "items"))})


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


def iterators_giving_values(trace: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                            reason: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args`` and ``kwargs`` of a call that runs now, with the glue's iterators and dict
    views (``MappingProxyType`` too) among them replaced by forms that give values: a
    lazy value they hold would reach code that needs the value (``sep.join(replies)``)."""
    if not any(_iterates(type(value)) for value in (*args, *kwargs.values())):
        return args, kwargs

    def given(value: Any) -> Any:
        return _handed(trace, value, reason) if _iterates(type(value)) else value

    return tuple(map(given, args)), {name: given(value) for name, value in kwargs.items()}


def _iterates(cls: type) -> bool:
    """Whether ``cls`` is a generator, ``map``, ``enumerate``, ``islice``... or a dict view."""
    return cls in _ITERATORS or cls in _VIEWS or cls is types.MappingProxyType or (
        hasattr(cls, "__next__") and cls.__module__ in _ITERATOR_MODULES)


def _handed(trace: Any, value: Any, reason: str) -> Any:
    cls = type(value)
    if cls in tree.ATOMS or cls is Lazy:
        return value
    if cls in _VIEWS or cls is types.MappingProxyType:
        # pd.Series(results.values()): a view of the same kind, of values
        mapping = value.mapping if cls in _VIEWS else value
        if not any(type(item) is Lazy for item in (*mapping, *mapping.values())):
            return value
        settled = {_values(trace, key, reason): _values(trace, item, reason)
                   for key, item in mapping.items()}
        return getattr(settled, _VIEWS[cls])() if cls in _VIEWS \
            else types.MappingProxyType(settled)
    if _iterates(cls):
        return _values_of_items(trace, value, reason)  # a generator, map, enumerate, islice...
    if cls is functools.partial:  # a partial still: libraries name it after its function
        inner = _handed(trace, value.func, reason)
        return value if inner is value.func else functools.partial(inner, *value.args,
                                                                   **value.keywords)
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
    kind = classify(value)
    if kind is Callee.USER:
        return _giving_values(trace, value, trace.instrumented(value), reason)
    if kind is Callee.OP:
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
        giving_values.__wrapped__ = fn  # type: ignore[attr-defined]
    # The name a library gives the function's results (pandas' agg column labels): the
    # function's own, else its class's, as for the callable itself.
    name = getattr(fn, "__name__", None)
    giving_values.__name__ = name if isinstance(name, str) else type(fn).__name__
    qualname = getattr(fn, "__qualname__", None)
    giving_values.__qualname__ = qualname if isinstance(qualname, str) \
        else giving_values.__name__
    return giving_values


def _values_of_items(trace: Any, items: Any, reason: str) -> Iterator[Any]:
    for item in items:
        yield _values(trace, item, reason)


def hands_over_iterator(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a call's arguments hold an iterator (a generator, ``map``, ``csv.reader``,
    an open file) or a view of a dict (``d.values()``, ``MappingProxyType(d)``), as
    arguments or items of the lists, tuples and dicts passed: the op reads the glue's own
    iterator, which the glue may read after it, or its dict, which it may change after it,
    so it runs at its call, as in plain Python (a snapshot cannot copy them)."""
    atoms = tree.ATOMS
    for value in (*args, *kwargs.values()) if kwargs else args:
        cls = type(value)
        if cls in atoms or cls is Lazy:
            continue
        if cls is list or cls is tuple or cls is dict:
            items = value.values() if cls is dict else value
            if any(type(item) not in atoms and type(item) is not Lazy
                   and (hasattr(type(item), "__next__") or type(item) in _LIVE_VIEWS)
                   for item in items):
                return True
        elif hasattr(cls, "__next__") or cls in _LIVE_VIEWS:
            return True
    return False
