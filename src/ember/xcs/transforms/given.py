"""The values of the op results a transform is given inside a jitted call.

``vmap``, ``pmap``, ``mesh_sharded`` and ``scan`` decide how to read their arguments from
what they are: an array is sliced along its axis, a list taken item by item, a dict read
as a record, and a call whose leaves are arrays and numbers goes to JAX. Those checks
look at the type of each leaf, so an op result still pending (a lazy value) would be
none of them: ``vmap(scale)(vecs(n))`` was refused ("cannot map argument 0 (Lazy)"), a
dict field holding an array was broadcast, and ``scan`` with an op's number as its
carry ran its plain loop where plain Python hands JAX the arrays. So the call waits
for the op results among its arguments first (a barrier, ``transform argument`` in
``explain``) and reads their values, as ``grad`` does: the transform then takes the
path plain Python takes.
"""

from __future__ import annotations

from typing import Any

from ember.xcs import tree
from ember.xcs.tracing import context
from ember.xcs.tracing.lazy import Lazy

__all__ = ["TRANSFORM_ARGUMENT", "values_of_ops"]

TRANSFORM_ARGUMENT = "transform argument"  # the barrier's reason, in explain


def values_of_ops(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...],
                                                                          dict[str, Any]]:
    """``args`` and ``kwargs`` with the op results in them replaced by their values.

    Outside a trace, or with no op result among them, they are returned as given.
    """
    force_tree = getattr(context.current_trace(), "force_tree", None)
    if force_tree is None or not tree.contains((args, kwargs), Lazy):
        return args, kwargs
    values: tuple[tuple[Any, ...], dict[str, Any]] = force_tree(
        (tuple(args), dict(kwargs)), TRANSFORM_ARGUMENT, records=True)
    return values
