"""Zero-config jit (pyember style): @jit on a function that calls models, no settings."""

from ember.api import models, op
from ember.xcs import get_jit_stats, jit


@op
def draft(question: str) -> str:
    return models("simulated/drafter", question, latency=0.05).text


@jit
def answer(question):
    drafts = []
    for _ in range(4):
        drafts.append(draft(question))
    return {"question": question, "drafts": drafts}


if __name__ == "__main__":
    plain = answer.__wrapped__("What is XCS?")
    fast = answer("What is XCS?")
    print("drafts:", len(fast["drafts"]))
    print("identical:", fast == plain)
    print("jit calls:", get_jit_stats(answer)["calls"])
