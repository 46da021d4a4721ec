"""Map-reduce over documents: summarise each document, then combine the summaries.

The map calls are independent and run together under @jit; the reduce call starts
as soon as the last summary arrives. Runs offline on the simulated provider.
"""

import time

from ember.api.models import models
from ember.models import SimulatedProvider
from ember.xcs import get_jit_stats, jit, op

models.register_provider("simulated", SimulatedProvider(latency=0.15))

DOCUMENTS = [
    "XCS traces Python functions and records every model call as a node.",
    "Independent nodes run concurrently on a shared thread pool.",
    "Barriers wait only for the values that code actually needs.",
    "Errors surface exactly as plain Python would raise them.",
    "Stats report critical path, parallel groups and token usage.",
    "The simulated provider makes every example run offline.",
]

summarise = models.instance("simulated/summariser", max_tokens=32)
combine = models.instance("simulated/editor")


@op
def join_summaries(summaries):
    return "\n".join(f"- {summary}" for summary in summaries)


def map_reduce(documents):
    summaries = [summarise(f"Summarise in one line: {doc}") for doc in documents]
    return combine("Combine these notes into one paragraph:\n" + join_summaries(summaries))


start = time.perf_counter()
plain = map_reduce(DOCUMENTS)
plain_seconds = time.perf_counter() - start

fast_map_reduce = jit(map_reduce)
start = time.perf_counter()
fast = fast_map_reduce(DOCUMENTS)
jit_seconds = time.perf_counter() - start

print(f"{len(DOCUMENTS)} documents -> combined summary: {fast}")
print(f"plain {plain_seconds:.2f} s, jit {jit_seconds:.2f} s, identical: {fast == plain}")
stats = get_jit_stats(fast_map_reduce)
print("critical path:", " -> ".join(stats["critical_path"]))
