"""The user-facing API of Ember, in pyember's shape.

``from ember.api import models, operators, op, xcs, non`` gives the callable
``models`` facade, the operators module, the ``op`` decorator (an Operator that XCS
schedules as one op), XCS and the NON notation; ``Models`` holds the known model ids
as constants. pyember's other names are here too: ``model`` (``models.instance``),
``operator`` (the operators module under its singular path) and ``types``
(``EmberModel`` and pydantic's field names, loaded with pydantic when first asked for).

Example:
    >>> from ember.api import models, op
    >>> @op
    ... def ask(question: str) -> str:
    ...     return models("simulated/demo", question).text
    >>> ask("Hello").startswith("[simulated]")
    True
"""

import importlib
from typing import Any

from ember.api import exceptions, non, operator, operators, xcs
from ember.api.decorators import mark_hybrid, mark_orchestration, mark_pytree_safe, mark_tensor, op
from ember.api.models import Models, models

model = models.instance

__all__ = [
    "Models",
    "exceptions",
    "mark_hybrid",
    "mark_orchestration",
    "mark_pytree_safe",
    "mark_tensor",
    "model",
    "models",
    "non",
    "op",
    "operator",
    "operators",
    "xcs",
]


def __getattr__(name: str) -> Any:
    if name == "types":
        return importlib.import_module("ember.api.types")
    raise AttributeError(f"module 'ember.api' has no attribute {name!r}")
