"""The ``simulated`` provider: deterministic replies, no network, always labelled.

Replies start with ``[simulated]``, are derived only from the model name, the prompt
and the generation parameters, and come after a configurable latency. Different
models usually agree on an answer and sometimes do not, so ensembles and majority
votes have something to do. A prompt ending in ``Answer with one of: A, B`` gets one
of those options back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ember.models.choices import offered_options, pick, stable_fraction
from ember.models.errors import SimulatedFailure
from ember.models.providers.base import Completion, Provider
from ember.models.request import Message, estimate_tokens, validate_params
from ember.models.response import Usage
from ember.models.retry import RetryPolicy

__all__ = ["SimulatedProvider"]

Latency = float | tuple[float, float]

_ANSWERS = ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor")
_DISAGREEMENT = 0.3
_SIMULATION_PARAMS = ("latency", "failure_rate")


class SimulatedProvider(Provider):
    """A provider that makes no network calls and says so.

    Args:
        latency: seconds per call, fixed (``0.1``) or uniform in a range
            (``(0.05, 0.2)``; the draw is seeded by the request, so it repeats).
        failure_rate: fraction of distinct requests that fail with
            ``SimulatedFailure`` (the same request always fails or always succeeds).
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy (simulated failures are never retried).

    Per-call ``latency=`` and ``failure_rate=`` override the provider's settings.

    Raises:
        InvalidParamsError: ``latency`` or ``failure_rate`` out of range.

    Example:
        >>> reply = SimulatedProvider().complete("simulated", "demo", "2+2?", {})
        >>> reply.startswith("[simulated]"), reply.simulated
        (True, True)
    """

    accepted_params = frozenset(
        {"temperature", "max_tokens", "top_p", "stop", "system", "seed", *_SIMULATION_PARAMS}
    )
    simulated = True
    known_models = ("simulated/<any-name>",)

    def __init__(
        self,
        *,
        latency: Latency = 0.0,
        failure_rate: float = 0.0,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(max_concurrency=max_concurrency, retry=retry)
        validate_params(
            "SimulatedProvider",
            {"latency": latency, "failure_rate": failure_rate},
            _SIMULATION_PARAMS,
        )
        self.latency = latency
        self.failure_rate = failure_rate

    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """Wait the configured latency, then reply (or fail) deterministically."""
        generation = {k: v for k, v in sorted(params.items()) if k not in _SIMULATION_PARAMS}
        latency: Latency = params.get("latency", self.latency)
        failure_rate: float = params.get("failure_rate", self.failure_rate)
        request = (model, messages, generation)
        if isinstance(latency, tuple | list):
            low, high = latency
            seconds = low + (high - low) * stable_fraction("latency", request)
        else:
            seconds = float(latency)
        if seconds > 0:
            time.sleep(seconds)
        if stable_fraction("failure", request) < failure_rate:
            raise SimulatedFailure(
                f"simulated/{model}: simulated failure for this prompt "
                f"(failure_rate={failure_rate}); the same request always fails."
            )
        text = "[simulated] " + _answer(model, messages, generation)
        prompt_text = "\n".join(message["content"] for message in messages)
        prompt_tokens = estimate_tokens(prompt_text + str(generation.get("system", "")))
        return Completion(text, Usage.of(prompt_tokens, estimate_tokens(text)))


def _answer(model: str, messages: list[Message], generation: Mapping[str, Any]) -> str:
    prompt = messages[-1]["content"]
    options = offered_options(prompt)
    if options:
        return pick(options, "choice", model, messages, generation)
    # Every model starts from the answer the prompt alone picks, and some switch, so
    # an ensemble mostly agrees; which ones switch depends on model and parameters.
    answer = pick(list(_ANSWERS), "answer", messages)
    if stable_fraction("disagree", model, messages, generation) < _DISAGREEMENT:
        answer = pick([a for a in _ANSWERS if a != answer], "other", model, messages, generation)
    max_tokens = generation.get("max_tokens")
    return answer[: 4 * max_tokens] if isinstance(max_tokens, int) else answer
