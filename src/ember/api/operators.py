"""Operators API: the ``Operator`` base class and the compound-AI building blocks."""

from ember.operators import (
    Chain,
    Ensemble,
    Judge,
    MostCommon,
    Operator,
    UnparseableReplyError,
    Verdict,
    Verifier,
)
from ember.xcs.ops import op

__all__ = [
    "Chain",
    "Ensemble",
    "Judge",
    "MostCommon",
    "Operator",
    "UnparseableReplyError",
    "Verdict",
    "Verifier",
    "op",
]
