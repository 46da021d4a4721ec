"""A LearnableRouter trained with grad and optax, routing between simulated models, jitted.

Short questions should go to a fast model and long ones to a careful model. The
router's weights are JAX arrays (pytree leaves of the Operator): ``grad`` gives their
gradients, optax updates them. The trained router is then called under ``@jit``: the
routing is tensor code, each routed model call is an op, and independent questions are
answered concurrently.

Run: python examples/learnable_router.py
"""

import jax
import jax.numpy as jnp
import optax

from ember.api.operators import LearnableRouter, ModelText
from ember.xcs import get_jit_stats, grad, jit

QUESTIONS = [
    "2+2?", "Capital of France?", "Is water wet?", "Color of the sky?",
    "Explain how a transformer model attends to earlier tokens in a long sequence.",
    "Compare the trade-offs between optimistic and pessimistic concurrency control.",
    "Describe, step by step, how TCP recovers from a lost packet during slow start.",
    "Why do large language models sometimes hallucinate facts, and how can it be reduced?",
]
LABELS = jnp.array([0 if len(q) < 25 else 1 for q in QUESTIONS])  # 0: fast, 1: careful


def features(question):
    return jnp.array([len(question) / 40.0, question.count(" ") / 8.0, 1.0])


def loss(router, embeddings, labels):
    probabilities = router.compute_route_probabilities(embeddings)
    return -jnp.mean(jnp.log(probabilities[jnp.arange(len(labels)), labels] + 1e-9))


@jit
def answer_all(router, questions):
    answers = []
    for question in questions:
        answers.append(router(question))
    return answers


def main():
    router = LearnableRouter(
        {"fast": ModelText("simulated/fast", latency=0.05),
         "careful": ModelText("simulated/careful", latency=0.05)},
        embed_dim=3, key=jax.random.PRNGKey(0), embedding_fn=features)
    embeddings = jnp.stack([features(q) for q in QUESTIONS])
    optimizer = optax.adam(0.2)
    state = optimizer.init(router)
    first = float(loss(router, embeddings, LABELS))
    for _ in range(40):
        gradients = grad(loss)(router, embeddings, LABELS)
        updates, state = optimizer.update(gradients, state, router)
        router = optax.apply_updates(router, updates)
    last = float(loss(router, embeddings, LABELS))
    print(f"loss: {first:.3f} -> {last:.3f}")
    print("loss decreased:", last < first)
    routes = [router.choose(q)[0] for q in QUESTIONS]
    correct = sum(route == ("fast", "careful")[int(label)] for route, label in zip(routes, LABELS))
    print(f"routing accuracy: {correct / len(QUESTIONS):.2f}")
    answers = answer_all(router, QUESTIONS)
    plain = [router(q) for q in QUESTIONS]
    print("answers:", len(answers), "from", sorted(set(routes)))
    print("identical:", answers == plain)
    print("jit calls:", get_jit_stats(answer_all)["calls"])


if __name__ == "__main__":
    main()
