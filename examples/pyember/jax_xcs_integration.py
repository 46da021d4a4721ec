"""JAX + XCS integration (pyember style): an Operator with JAX weights and a model call."""

import jax
import jax.numpy as jnp

from ember.api import models
from ember.api.operators import Operator
from ember.xcs import OpKind, analyze_operations_v2, grad, jit


class ScoredAnswer(Operator):
    weights: jax.Array
    model: str

    def forward(self, features, question):
        confidence = jax.nn.sigmoid(features @ self.weights)
        reply = models(self.model, question)
        return confidence, reply


def loss(op, features):
    confidence, _ = op(features, "Is the sky blue?")
    return (confidence - 1.0) ** 2


if __name__ == "__main__":
    scorer = ScoredAnswer(weights=jnp.zeros(3), model="simulated/answerer")
    decision = analyze_operations_v2(scorer)  # JAX weights and a model call: both kinds
    print("scorer is hybrid:", decision.kind is OpKind.HYBRID)
    features = jnp.ones(3)
    gradients = grad(loss)(scorer, features)
    print("gradient is an Operator:", type(gradients).__name__ == "ScoredAnswer")
    stepped = jax.tree_util.tree_map(lambda w, g: w - 0.5 * g, scorer, gradients)
    print("loss decreased:", bool(loss(stepped, features) < loss(scorer, features)))
    confidence, reply = jit(scorer)(features, "Is the sky blue?")
    print("reply is simulated:", reply.text.startswith("[simulated]"))
