"""Operators: composable units of compound AI programs (see ``ember.api.operators``)."""

from ember.operators.base import FrozenOperatorError, Operator
from ember.operators.blocks import (
    Chain,
    Ensemble,
    Judge,
    MostCommon,
    UnparseableReplyError,
    Verdict,
    Verifier,
    chain,
    ensemble,
)
from ember.operators.function import FunctionOperator, op
from ember.operators.model_calls import ExtractText, ModelCall, ModelText
from ember.operators.retry import Retry
from ember.operators.routing import LearnableRouter, Router, router
from ember.operators.specification import Specification

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
