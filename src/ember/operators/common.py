"""pyember's ``ember.operators.common``: the building blocks under the path its examples
import (``from ember.operators.common import ModelText, Ensemble, Chain``). Each name is
the one in ``ember.operators``; this module only re-exports."""

from ember.operators.base import Chain
from ember.operators.blocks import Ensemble, Judge, MostCommon, Verdict, Verifier, chain, ensemble
from ember.operators.model_calls import ExtractText, ModelCall, ModelText
from ember.operators.retry import Retry
from ember.operators.routing import LearnableRouter, Router, router

__all__ = [
    "Chain",
    "Ensemble",
    "ExtractText",
    "Judge",
    "LearnableRouter",
    "ModelCall",
    "ModelText",
    "MostCommon",
    "Retry",
    "Router",
    "Verdict",
    "Verifier",
    "chain",
    "ensemble",
    "router",
]
