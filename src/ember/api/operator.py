"""pyember's singular path ``ember.api.operator``: the names of ``ember.api.operators``
(``Operator``, ``Specification``, the building blocks), ``EmberModel`` and pydantic's
``Field``, which are loaded with pydantic when first asked for.

Example:
    >>> from ember.api.operator import Operator, Specification
    >>> Operator[dict, dict] is Operator
    True
"""

import importlib
from typing import Any

from ember.api.operators import *  # noqa: F403
from ember.api.operators import __all__ as __all__


def __getattr__(name: str) -> Any:
    if name in ("EmberModel", "Field"):  # pydantic's: loaded when first asked for
        return getattr(importlib.import_module("ember.api.types"), name)
    raise AttributeError(f"module 'ember.api.operator' has no attribute {name!r}")
