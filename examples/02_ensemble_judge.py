"""Ensemble + judge: five models answer, a judge picks the best answer.

Every member call is independent, so under @jit they run together; the judge waits
only for the answers it needs. Runs offline on the simulated provider.
"""

import time

from ember.api.models import models
from ember.api.operators import Ensemble, Judge
from ember.models import SimulatedProvider
from ember.xcs import explain, jit

models.register_provider("simulated", SimulatedProvider(latency=(0.15, 0.25)))

ensemble = Ensemble([f"simulated/member-{i}" for i in range(5)])
judge = Judge("simulated/judge", criteria="factual accuracy")


def best_answer(question):
    return judge(question, ensemble(question))


question = "Which river flows through Vienna?"
start = time.perf_counter()
plain = best_answer(question)
plain_seconds = time.perf_counter() - start

fast_best_answer = jit(best_answer)
start = time.perf_counter()
fast = fast_best_answer(question)
jit_seconds = time.perf_counter() - start

print("question:", question)
print("judge picked:", fast, f"(from {fast.model_id})")
print(f"plain {plain_seconds:.2f} s, jit {jit_seconds:.2f} s, identical: {fast == plain}")
print()
print(explain(fast_best_answer, question))
