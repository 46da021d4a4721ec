"""Decorators for XCS: ``op``, ``mark_orchestration``, ``mark_tensor``, ``mark_hybrid``,
``mark_pytree_safe``.

``op`` is pyember's: it gives an ``Operator`` that XCS schedules as one op (see
``ember.operators.function``); ``ember.xcs.op`` gives the bare ``Op``.
``mark_orchestration`` / ``mark_tensor`` make ops of the given kind. ``mark_hybrid``
and ``mark_pytree_safe`` record pyember's marks on the function and return it
unchanged (``ember.xcs.analysis.marks``): XCS decides tensor or orchestration by
trying, and ``analyze_operations_v2`` reports the hybrid mark.

Example:
    >>> @mark_tensor
    ... def double(x):
    ...     return 2 * x
    >>> double(3), double.kind
    (6, 'tensor')
"""

from ember.operators.function import op
from ember.xcs.analysis.marks import mark_hybrid, mark_pytree_safe
from ember.xcs.ops import mark_orchestration, mark_tensor

__all__ = ["mark_hybrid", "mark_orchestration", "mark_pytree_safe", "mark_tensor", "op"]
