"""Random generators given to ops: each draw depends on the draws before it.

``sample(rng, prompt)`` with ``rng = np.random.default_rng(seed)`` (or a
``np.random.RandomState``, a ``random.Random(seed)``) changes ``rng`` with every
number it draws. In plain Python the ops given the same generator, and the glue
drawing from it after them, draw in program order. So an op call holds the
generators it is given (``holding.Holders.note``): the glue's own use of one
(``rng.integers(...)``) waits for it, and an op given a generator that an earlier op
still holds runs at its call, after that op (``thread_bound.eager_reason_of``), as
does a function given one (``stats.norm.rvs(random_state=rng)``, ``changes.changed_by``).
Ops given generators of their own still run in parallel.

Example:
    >>> import random
    >>> rng = random.Random(1)
    >>> generators_in({"rng": rng, "k": 2}, generator_classes()) == [rng]
    True
"""

from __future__ import annotations

import collections
import functools
import sys
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tree.kinds import record_items

__all__ = ["generator_classes", "generators_in", "given_generator"]

_modules = sys.modules
_ITEMS = (list, tuple, dict)
_DEPTH = 3  # as holding._DEPTH
_CALLABLES = frozenset({types.FunctionType, types.MethodType, functools.partial,
                       types.BuiltinMethodType})


def generator_classes() -> tuple[type, ...]:
    """The classes of random generators, of the modules imported so far:
    ``random.Random`` (and its subclasses) and NumPy's generators."""
    stdlib, numpy_random = _modules.get("random"), _modules.get("numpy.random")
    found = _classes(stdlib, numpy_random)
    if numpy_random is not None and len(found) < 4:  # NumPy still importing: ask again
        _classes.cache_clear()
    return found


@functools.lru_cache(maxsize=4)
def _classes(stdlib: Any, numpy_random: Any) -> tuple[type, ...]:
    """``generator_classes`` of these modules (asked once per op call: kept)."""
    found: list[type] = [kind] if isinstance(kind := getattr(stdlib, "Random", None), type) else []
    if numpy_random is not None:
        found += [kind for name in ("Generator", "RandomState", "BitGenerator")
                  if isinstance(kind := getattr(numpy_random, name, None), type)]
    return tuple(found)


def generators_in(value: Any, classes: tuple[type, ...]) -> list[Any]:
    """The generators ``value`` is, or holds as items (of lists, tuples and dicts) or
    attributes (of objects of the user's), as deep as ``holding.Holders.note`` looks:
    ``{"sampling": {"rng": rng}}`` or an agent with ``self.rng`` hands ``rng`` over, and
    so do ``rng.normal``, ``functools.partial(rng.normal, 0)`` and ``lambda: rng.random()``."""
    found: list[Any] = []
    todo = [(value, 0)]
    while todo and classes:
        value, depth = todo.pop()
        cls = type(value)
        if cls in tree.ATOMS or cls is Lazy:
            continue
        if isinstance(value, classes):
            found.append(value)
        elif depth < _DEPTH and (cls in _ITEMS or tree.kind_of(value) is tree.Kind.RECORD):
            items = (value.values() if cls is dict else value) if cls in _ITEMS else [
                item for _, item in record_items(value)]
            todo += [(item, depth + 1) for item in items]
        elif depth < _DEPTH and cls in _CALLABLES:
            todo += [(item, depth + 1) for item in _callable_parts(value)]
    return found


def _callable_parts(fn: Any) -> list[Any]:
    """What a function handed to an op uses when called: a bound method's object, a
    partial's function and arguments, a closure's variables."""
    if type(fn) is functools.partial:
        return [fn.func, *fn.args, *fn.keywords.values()]
    if type(fn) is types.FunctionType:
        parts = []
        for cell in fn.__closure__ or ():
            try:
                parts.append(cell.cell_contents)
            except ValueError:  # not bound yet
                continue
        return parts
    return [getattr(fn, "__self__", None)]


def given_generator(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The first random generator among a call's arguments (``None`` if none) that the
    call may draw from: not one a built-in only looks at or stores (``isinstance(rng,
    ...)``, ``repr(rng)``, ``dict(rng=rng)``, ``agents.append(rng)``), which need not wait
    for an op drawing from it."""
    if id(fn) in _LOOKS_ONLY or (type(fn) is _BUILTIN and type(fn.__self__) in _STORES):
        return None
    atoms = tree.ATOMS
    classes: tuple[type, ...] | None = None
    for value in (*args, *kwargs.values()) if kwargs else args:
        kind = type(value)
        if kind not in atoms and kind is not Lazy and isinstance(
                value, classes := classes or generator_classes()):
            return value
    return None


_BUILTIN: Any = types.BuiltinFunctionType
_STORES: frozenset[type] = frozenset({list, dict, set, collections.deque})  # keep items
# Built-ins that read no generator's state (ids: the functions live as long as Python).
_LOOKS_ONLY = frozenset(map(id, (
    isinstance, issubclass, type, id, hash, repr, str, format, print, callable, getattr,
    hasattr, len, dict, list, tuple, set, frozenset, object, functools.partial)))
