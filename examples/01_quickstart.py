"""Quickstart: call a model, bind settings, and let @jit run independent calls at once.

Runs offline on the simulated provider (replies are labelled "[simulated]").
"""

import time

from ember.api.models import models
from ember.models import SimulatedProvider
from ember.xcs import get_jit_stats, jit

# A simulated provider that takes 0.2 s per call, like a small hosted model.
models.register_provider("simulated", SimulatedProvider(latency=0.2))

reply = models("simulated/gpt-4o", "What is the capital of France?")
print("reply:", reply)
print("  model:", reply.model_id, "| simulated:", reply.simulated, "| usage:", reply.usage)

concise = models.instance("simulated/gpt-4o", temperature=0.2, max_tokens=16)
print("bound model:", concise)


def ask_all(questions):
    return [concise(question) for question in questions]


questions = [f"Name a fact about planet {n}." for n in range(8)]

start = time.perf_counter()
plain = ask_all(questions)
plain_seconds = time.perf_counter() - start

fast_ask_all = jit(ask_all)
start = time.perf_counter()
fast = fast_ask_all(questions)
jit_seconds = time.perf_counter() - start

assert fast == plain
print(
    f"8 calls: plain {plain_seconds:.2f} s, jit {jit_seconds:.2f} s, same answers: {fast == plain}"
)
stats = get_jit_stats(fast_ask_all)
print("stats: parallel groups", stats["parallel_groups"], "| tokens", stats["tokens"])
