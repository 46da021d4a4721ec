"""The user-facing API of Ember, in pyember's shape.

``from ember.api import models, operators, op, xcs, non`` gives the callable
``models`` facade, the operators module, the ``op`` decorator (an Operator that XCS
schedules as one op), XCS and the NON notation; ``Models`` holds the known model ids
as constants.

Example:
    >>> from ember.api import models, op
    >>> @op
    ... def ask(question: str) -> str:
    ...     return models("simulated/demo", question).text
    >>> ask("Hello").startswith("[simulated]")
    True
"""

from ember.api import exceptions, non, operators, xcs
from ember.api.decorators import mark_hybrid, mark_orchestration, mark_pytree_safe, mark_tensor, op
from ember.api.models import Models, models

__all__ = [
    "Models",
    "exceptions",
    "mark_hybrid",
    "mark_orchestration",
    "mark_pytree_safe",
    "mark_tensor",
    "models",
    "non",
    "op",
    "operators",
    "xcs",
]
