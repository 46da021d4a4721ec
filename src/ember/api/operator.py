"""pyember's singular path ``ember.api.operator``: the names of ``ember.api.operators``
(``Operator``, ``Specification``, the building blocks) and ``EmberModel``, which is
loaded with pydantic when first asked for.

Example:
    >>> from ember.api.operator import Operator, Specification
    >>> Operator[dict, dict] is Operator
    True
"""

from typing import Any

from ember.api.operators import *  # noqa: F403
from ember.api.operators import __all__ as __all__


def __getattr__(name: str) -> Any:
    if name == "EmberModel":
        from ember.operators.ember_model import EmberModel

        return EmberModel
    raise AttributeError(f"module 'ember.api.operator' has no attribute {name!r}")
