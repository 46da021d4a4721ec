"""Operators: composable units of compound AI programs (see ``ember.api.operators``)."""

from ember.operators.base import Operator
from ember.operators.blocks import (
    Chain,
    Ensemble,
    Judge,
    MostCommon,
    UnparseableReplyError,
    Verdict,
    Verifier,
)

__all__ = [
    "Chain",
    "Ensemble",
    "Judge",
    "MostCommon",
    "Operator",
    "UnparseableReplyError",
    "Verdict",
    "Verifier",
]
