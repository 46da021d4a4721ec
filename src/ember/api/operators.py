"""Operators API: ``Operator``, ``op`` and the compound-AI building blocks.

pyember's ``EmberModel`` and pydantic's ``Field`` are here too (``from
ember.api.operators import Operator, EmberModel, Field``), loaded with pydantic when
first asked for (see ``ember.api.types``).

Example:
    >>> from ember.api.operators import Operator, chain, op
    >>> @op
    ... def strip(text: str) -> str:
    ...     return text.strip()
    >>> chain(strip, str.upper)("  ember ")
    'EMBER'
"""

import importlib
from typing import Any

from ember.operators import (
    Chain,
    Ensemble,
    ExtractText,
    FrozenOperatorError,
    FunctionOperator,
    Judge,
    LearnableRouter,
    ModelCall,
    ModelText,
    MostCommon,
    Operator,
    Retry,
    Router,
    Specification,
    UnparseableReplyError,
    Verdict,
    Verifier,
    chain,
    ensemble,
    op,
    router,
)

__all__ = [
    "Chain",
    "Ensemble",
    "ExtractText",
    "FrozenOperatorError",
    "FunctionOperator",
    "Judge",
    "LearnableRouter",
    "ModelCall",
    "ModelText",
    "MostCommon",
    "Operator",
    "Retry",
    "Router",
    "Specification",
    "UnparseableReplyError",
    "Verdict",
    "Verifier",
    "chain",
    "ensemble",
    "op",
    "router",
]


def __getattr__(name: str) -> Any:
    if name in ("EmberModel", "Field"):  # pydantic's: loaded when first asked for
        return getattr(importlib.import_module("ember.api.types"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
