"""Operator composition: keyword and positional operators, `>>`, voting and verifying.

Runs offline on the simulated provider.
"""

from ember.api.models import models
from ember.api.operators import Ensemble, MostCommon, Operator, Verifier
from ember.models import SimulatedProvider
from ember.xcs import jit

models.register_provider("simulated", SimulatedProvider(latency=0.05))


class Rephrase(Operator):
    """Keyword style from the seeds: forward(self, *, inputs)."""

    def forward(self, *, inputs):
        return f"Answer briefly: {inputs.strip()}"


class Checked(Operator):
    """Positional style: vote, then ask a verifier about the winning answer."""

    def __init__(self, members):
        self.ensemble = Ensemble(members)
        self.vote = MostCommon()
        self.verifier = Verifier("simulated/checker")

    def forward(self, prompt):
        return self.verifier(prompt, self.vote(self.ensemble(prompt)))


pipeline = Rephrase() >> Checked([f"simulated/m{i}" for i in range(5)])
print("pipeline:", pipeline)

fast_pipeline = jit(pipeline)
for question in ["  What is the boiling point of water? ", "Who wrote Hamlet?"]:
    verdict = fast_pipeline(question)
    assert verdict == pipeline(question)
    status = "PASS" if verdict.passed else "FAIL"
    print(f"{question.strip()!r}: {verdict.answer} [{status}]")
