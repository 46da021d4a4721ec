"""jit basics (pyember style): a tensor function goes to JAX, an orchestration one to XCS."""

import jax.numpy as jnp

from ember.api import models, op
from ember.xcs import get_jit_stats, jit


@jit
def normalize(x):
    return (x - jnp.mean(x)) / (jnp.std(x) + 1e-6)


@op
def summarize(text: str) -> str:
    return models("simulated/summarizer", f"Summarize: {text}").text


@jit
def pipeline(texts):
    return [summarize(t) for t in texts]


if __name__ == "__main__":
    x = jnp.arange(5.0)
    print("normalized mean ~ 0:", abs(float(jnp.mean(normalize(x)))) < 1e-5)
    print("tensor mode:", get_jit_stats(normalize)["mode"])
    summaries = pipeline(["first text", "second text"])
    print("summaries:", len(summaries))
    print("identical:", summaries == [summarize(t) for t in ["first text", "second text"]])
