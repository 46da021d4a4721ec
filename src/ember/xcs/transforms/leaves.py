"""What is tensor data: the kind of every leaf of a call's arguments, and JAX on demand.

A leaf is an ``ARRAY`` (a JAX or NumPy array of a numeric dtype, or a JAX tracer), a
``NUMBER``, an ``ATOM`` (``str``, ``bytes``, ``None``: hashable, never an array) or
``OTHER``; ``jit``'s tensor mode also tells ``NUMPY`` arrays apart (``jax.jit`` would
convert them, see ``argument_kind``). A call is tensor data when its leaves are arrays
and numbers, with at least one array. These checks run on every jitted call, so they
are plain ``int`` kinds and dictionary lookups, and they never import JAX:
``jax_or_none`` imports it the first time an array is seen.

Example:
    >>> leaf_kind(3), leaf_kind("text"), leaf_kind(object()) == OTHER
    (2, 3, True)
    >>> is_tensor_tree([1, 2, 3])  # numbers alone: no array
    False
"""

from __future__ import annotations

import collections.abc
import sys
from types import ModuleType
from typing import Any

from ember.xcs.errors import TransformError

__all__ = [
    "ARRAY",
    "ATOM",
    "JAX_EXTRA",
    "NUMBER",
    "NUMPY",
    "OTHER",
    "TYPE_KINDS",
    "argument_kind",
    "count_arrays",
    "has_tracer",
    "is_tensor_tree",
    "jax_or_none",
    "leaf_kind",
    "require_jax",
]

JAX_EXTRA = "pip install 'ember-xcs[jax]'"

# Leaf kinds (plain ints: this runs on every jitted call).
ARRAY = 1  # a JAX or NumPy array (or JAX tracer) of a numeric dtype
NUMBER = 2  # int, float, bool, complex
ATOM = 3  # str, bytes, None: hashable, never an array
OTHER = 4  # anything else
NUMPY = 5  # argument_kind(..., numpy=False) of NumPy array data

# The kind of every leaf type known so far. ``leaf_kind`` adds JAX array types as it
# meets them, without a lock: each addition is one dictionary store of a value that
# every thread would compute alike, so a race can only store the same kind twice.
TYPE_KINDS: dict[type, int] = {
    int: NUMBER, float: NUMBER, bool: NUMBER, complex: NUMBER,
    str: ATOM, bytes: ATOM, type(None): ATOM,
}
_CONTAINERS = (list, tuple, dict)
_ITERATORS = (collections.abc.Iterator, collections.abc.MappingView)
_NUMERIC_DTYPE_KINDS = frozenset("biufc")
# The ``jax`` module once tried (``None``: not installed); ``False``: not tried yet.
# Set without a lock for the same reason as ``TYPE_KINDS``: every thread stores the
# same module (``import`` itself is serialised by the import lock).
_jax: ModuleType | bool | None = False


def jax_or_none() -> ModuleType | None:
    """The ``jax`` module, imported on first use, or ``None`` when it is not installed."""
    global _jax
    if _jax is False:
        try:
            import jax
        except ImportError:
            _jax = None
        else:
            _jax = jax
    return _jax if isinstance(_jax, ModuleType) else None


def require_jax(feature: str) -> ModuleType:
    """The ``jax`` module, or ``TransformError`` naming the extra to install.

    Args:
        feature: what needs JAX, for the message (e.g. ``"grad"``).

    Raises:
        TransformError: JAX is not installed.
    """
    jax = jax_or_none()
    if jax is None:
        raise TransformError(
            f"{feature} needs JAX for array inputs, and JAX is not installed. Install the "
            f"extra: {JAX_EXTRA}"
        )
    return jax


def leaf_kind(value: Any) -> int:
    """The kind of a leaf value: ``ARRAY``, ``NUMBER``, ``ATOM`` or ``OTHER``."""
    kind = TYPE_KINDS.get(type(value))
    if kind is not None:
        return kind
    module = type(value).__module__
    if module.startswith(("jax", "numpy")) and hasattr(value, "shape"):
        if module.startswith("jax"):  # arrays, tracers, key arrays: always JAX data
            TYPE_KINDS[type(value)] = ARRAY  # so the next lookup is one dict access
            return ARRAY
        dtype = getattr(value, "dtype", None)  # NumPy: strings and objects are not
        if dtype is not None and getattr(dtype, "kind", "") in _NUMERIC_DTYPE_KINDS:
            return ARRAY
    return OTHER


def is_tensor_tree(tree: Any) -> bool:
    """Whether every leaf of ``tree`` is an array or a number, with at least one array.

    Containers are lists, tuples and dicts (and ``None``, an empty node, as in JAX), and
    registered JAX pytree nodes (a ``register_dataclass`` class, a Flax struct): the
    transforms hand these to JAX, which maps their leaves.
    """
    found = count_arrays(tree, 0, pytrees=True)
    return found is not None and found > 0


def count_arrays(tree: Any, depth: int = 0, numpy: bool = True,
                 pytrees: bool = False) -> int | None:
    """Number of array leaves of ``tree``, or ``None`` when some leaf is not tensor data
    (with ``numpy=False``: also when one is a NumPy array; with ``pytrees``, registered
    JAX pytree nodes are containers too)."""
    if tree is None:
        return 0
    if isinstance(tree, _CONTAINERS) and depth < 64:
        items = tree.values() if isinstance(tree, dict) else tree
        total = 0
        for item in items:
            found = count_arrays(item, depth + 1, numpy, pytrees)
            if found is None:
                return None
            total += found
        return total
    kind = leaf_kind(tree)
    if kind == ARRAY:
        return 1 if numpy or not _is_numpy(tree) else None
    if kind == NUMBER:
        return 0
    return _pytree_arrays(tree, numpy) if pytrees and kind == OTHER else None


def has_tracer(tree: Any) -> bool:
    """Whether ``tree`` holds a value JAX is tracing (a ``jax.core.Tracer``)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    tracer_type = jax.core.Tracer
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=lambda leaf: isinstance(leaf, tracer_type))
    return any(isinstance(leaf, tracer_type) for leaf in leaves)


def argument_kind(value: Any, numpy: bool = True) -> int:
    """The kind of one whole argument of a call.

    ``ARRAY`` for array data (also containers of arrays and numbers, and registered JAX
    pytrees of them), ``NUMBER``, ``ATOM`` (hashable, so it can be a static argument:
    also tuples of atoms and numbers) or ``OTHER``. With ``numpy=False``, array data
    holding a NumPy array is ``NUMPY``.
    """
    kind = TYPE_KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, _CONTAINERS):
        found = count_arrays(value, 0)
        if found:
            return ARRAY if numpy or count_arrays(value, 0, numpy=False) else NUMPY
        if type(value) is tuple and all(argument_kind(v) in (NUMBER, ATOM) for v in value):
            return ATOM
        return OTHER
    kind = leaf_kind(value)
    if kind == ARRAY and not numpy and _is_numpy(value):
        return NUMPY
    if kind == OTHER and _pytree_arrays(value):
        return ARRAY if numpy or _pytree_arrays(value, numpy=False) else NUMPY
    return kind


def _is_numpy(value: Any) -> bool:
    return type(value).__module__.startswith("numpy")


def _pytree_arrays(value: Any, numpy: bool = True) -> int | None:
    """The number of array leaves of a registered JAX pytree node of tensor data, else
    ``None`` (also for a node that is no pytree, or holds other data)."""
    jax = sys.modules.get("jax")
    if jax is None or isinstance(value, _ITERATORS):
        return None  # an iterator or a dict view: never a pytree (JAX warns on them)
    leaves, treedef = jax.tree_util.tree_flatten(value)
    if treedef.num_nodes == 1:  # a leaf: not a registered container
        return None
    return count_arrays(leaves, 0, numpy)
