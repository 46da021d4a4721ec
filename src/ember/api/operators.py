"""Operators API: ``Operator``, ``op`` and the compound-AI building blocks.

Example:
    >>> from ember.api.operators import Operator, chain, op
    >>> @op
    ... def strip(text: str) -> str:
    ...     return text.strip()
    >>> chain(strip, str.upper)("  ember ")
    'EMBER'
"""

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
