"""Batch processing (pyember style): vmap over a batch of prompts, orchestration path."""

from ember.api import models, op
from ember.xcs import vmap


@op
def classify(text: str) -> str:
    reply = models("simulated/classifier", f"Sentiment of: {text}", latency=0.02)
    return "positive" if len(reply.text) % 2 else "negative"


if __name__ == "__main__":
    texts = ["great product", "terrible service", "okay I guess", "love it"]
    batched = vmap(classify)(texts)
    one_by_one = [classify(text) for text in texts]
    print("labels:", batched)
    print("identical:", batched == one_by_one)
