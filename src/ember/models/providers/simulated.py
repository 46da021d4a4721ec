"""The ``simulated`` provider: deterministic replies, no network, always labelled.

Replies start with ``[simulated]``, are derived only from the model name, the prompt
and the generation parameters, and come after a configurable latency (``time.sleep``
for plain calls, ``asyncio.sleep`` on an event loop: no thread per call). Different
models usually agree on an answer and sometimes do not, so ensembles and majority
votes have something to do. A prompt ending in ``Answer with one of: A, B`` gets one
of those options back.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, NamedTuple

from ember.models._checks import check_number
from ember.models.choices import offered_options
from ember.models.errors import ProviderTimeoutError, SimulatedFailure
from ember.models.providers.base import DEFAULT_TIMEOUT, Provider
from ember.models.ratelimit import RateLimit
from ember.models.request import Message, estimate_tokens, validate_params
from ember.models.response import Completion, Usage
from ember.models.retry import RetryPolicy

__all__ = ["SimulatedProvider"]

Latency = float | tuple[float, float]

_ANSWERS = ("amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor")
_OTHERS = {answer: tuple(a for a in _ANSWERS if a != answer) for answer in _ANSWERS}
_DISAGREEMENT = 0.3
_SIMULATION_PARAMS = ("latency", "failure_rate")
_NOT_GENERATION = frozenset({*_SIMULATION_PARAMS, "timeout"})  # they never change the text
_WORD_START = re.compile(r"(?<=\s)(?=\S)")
_PAIR = (tuple, list)  # a (low, high) latency (a constant: `tuple | list` is built per call)


class _Plan(NamedTuple):
    """What one simulated request will do: wait, then fail or reply ``text``.

    Only numbers and strings: a call in flight holds no container the garbage
    collector must visit (the ``Completion`` is made once the wait is over).
    """

    seconds: float
    timeout: float
    failure: str | None
    text: str
    prompt_tokens: int


class SimulatedProvider(Provider):
    """A provider that makes no network calls and says so.

    Args:
        latency: seconds per call, fixed (``0.1``) or uniform in a range
            (``(0.05, 0.2)``; the draw is seeded by the request, so it repeats).
        failure_rate: fraction of distinct requests that fail with
            ``SimulatedFailure`` (the same request always fails or always succeeds).
        timeout: seconds a request may take (default 60): a latency beyond it waits
            ``timeout`` seconds and raises ``ProviderTimeoutError``, as a real
            provider would.
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy (simulated failures are never retried).
        rate_limit: a requests/tokens-per-minute budget for this provider's calls.

    Per-call ``latency=``, ``failure_rate=`` and ``timeout=`` override the provider's.

    Raises:
        InvalidParamsError: a setting out of range (the message names it).

    Example:
        >>> reply = SimulatedProvider().complete("simulated", "demo", "2+2?", {})
        >>> reply.startswith("[simulated]"), reply.simulated
        (True, True)
    """

    accepted_params = frozenset(
        {
            "temperature",
            "max_tokens",
            "top_p",
            "stop",
            "system",
            "seed",
            "timeout",
            *_SIMULATION_PARAMS,
        }
    )
    simulated = True
    known_models = ("simulated/<any-name>",)

    def __init__(
        self,
        *,
        latency: Latency = 0.0,
        failure_rate: float = 0.0,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(max_concurrency=max_concurrency, retry=retry, rate_limit=rate_limit)
        validate_params(
            "SimulatedProvider",
            {"latency": latency, "failure_rate": failure_rate},
            _SIMULATION_PARAMS,
        )
        self.latency = latency
        self.failure_rate = failure_rate
        self.timeout = check_number("SimulatedProvider", "timeout", timeout)

    def _plan(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> _Plan:
        """Everything about a request that does not involve waiting (deterministic)."""
        if not params or _NOT_GENERATION.issuperset(params):  # latency= alone: nothing to sort
            generation: dict[str, Any] = {}
        else:
            generation = {k: v for k, v in sorted(params.items()) if k not in _NOT_GENERATION}
        latency: Latency = params.get("latency", self.latency)
        failure_rate: float = params.get("failure_rate", self.failure_rate)
        draws = _Draws(model, messages, generation)
        if isinstance(latency, _PAIR):
            low, high = latency
            seconds = low + (high - low) * draws.draw(_Draws.LATENCY)
        else:
            seconds = float(latency)
        failure = None
        if failure_rate > 0 and draws.draw(_Draws.FAILURE) < failure_rate:
            failure = (
                f"simulated failure for this prompt (failure_rate={failure_rate}); the same "
                f"request always fails."
            )
        text = "[simulated] " + _answer(messages, generation, draws)
        if len(messages) == 1:
            prompt_text = messages[0]["content"]
        else:
            prompt_text = "\n".join([message["content"] for message in messages])
        if "system" in generation:
            prompt_text += str(generation["system"])
        return _Plan(seconds, params.get("timeout", self.timeout), failure, text,
                     estimate_tokens(prompt_text))

    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """Wait the configured latency (``time.sleep``), then reply or fail."""
        plan = self._plan(model, messages, params)
        if plan.seconds > 0:
            time.sleep(min(plan.seconds, plan.timeout))
        return _outcome(plan)

    async def asend(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Completion:
        """Wait the configured latency with ``asyncio.sleep``, then reply or fail."""
        plan = self._plan(model, messages, params)
        if plan.seconds > 0:
            await asyncio.sleep(min(plan.seconds, plan.timeout))
        return _outcome(plan)

    def send_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Iterator[str | Usage]:
        """The reply word by word, the latency spread over the words, then the usage."""
        plan = self._plan(model, messages, params)
        chunks = _WORD_START.split(plan.text)
        if plan.seconds > plan.timeout or plan.failure is not None:
            time.sleep(min(plan.seconds, plan.timeout))
            _outcome(plan)
        for chunk in chunks:
            if plan.seconds > 0:
                time.sleep(plan.seconds / len(chunks))
            yield chunk
        yield _usage(plan)

    async def asend_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        """``send_stream`` with ``asyncio.sleep``."""
        plan = self._plan(model, messages, params)
        chunks = _WORD_START.split(plan.text)
        if plan.seconds > plan.timeout or plan.failure is not None:
            await asyncio.sleep(min(plan.seconds, plan.timeout))
            _outcome(plan)
        for chunk in chunks:
            if plan.seconds > 0:
                await asyncio.sleep(plan.seconds / len(chunks))
            yield chunk
        yield _usage(plan)


def _outcome(plan: _Plan) -> Completion:
    """The completion, or the timeout or simulated failure the plan holds."""
    if plan.seconds > plan.timeout:
        raise ProviderTimeoutError(
            f"no reply within timeout={plan.timeout:g} s (the simulated latency is "
            f"{plan.seconds:g} s); raise timeout=... or lower latency=..."
        )
    if plan.failure is not None:
        raise SimulatedFailure(plan.failure)
    return Completion(plan.text, _usage(plan))


def _usage(plan: _Plan) -> Usage:
    return Usage.of(plan.prompt_tokens, estimate_tokens(plan.text))


class _Draws:
    """The deterministic random numbers of one request, from hashes of its repr.

    ``answer`` depends on the messages alone (so every model starts from the same
    answer and an ensemble mostly agrees); ``draw(i)`` for ``i`` in 0..3 (disagree,
    other, failure, latency) depends on the model, the messages and the generation
    parameters. All are in ``[0, 1)``, computed only when asked for. BLAKE2b of the
    repr: stable across runs and processes, and cheap, since a simulated call must
    cost little more than its ``asyncio.sleep``.
    """

    DISAGREE, OTHER, FAILURE, LATENCY = 0, 8, 16, 24  # offsets into the request digest

    __slots__ = ("answer", "digest")

    def __init__(self, model: str, messages: list[Message], generation: dict[str, Any]) -> None:
        shown = repr(messages).encode("utf-8")
        answer = hashlib.blake2b(shown, digest_size=8).digest()
        self.answer = int.from_bytes(answer, "big") / 2**64
        shown_generation = repr(generation).encode("utf-8") if generation else b"{}"
        request = b"\0".join((model.encode("utf-8"), shown, shown_generation))
        self.digest = hashlib.blake2b(request, digest_size=32).digest()

    def draw(self, offset: int) -> float:
        return int.from_bytes(self.digest[offset : offset + 8], "big") / 2**64


def _answer(messages: list[Message], generation: Mapping[str, Any], draws: _Draws) -> str:
    prompt = messages[-1]["content"]
    options = offered_options(prompt)
    if options:
        return options[int(draws.draw(_Draws.OTHER) * len(options))]
    # Every model starts from the answer the prompt alone picks, and some switch, so
    # an ensemble mostly agrees; which ones switch depends on model and parameters.
    answer = _ANSWERS[int(draws.answer * len(_ANSWERS))]
    if draws.draw(_Draws.DISAGREE) < _DISAGREEMENT:
        others = _OTHERS[answer]
        answer = others[int(draws.draw(_Draws.OTHER) * len(others))]
    max_tokens = generation.get("max_tokens")
    return answer[: 4 * max_tokens] if isinstance(max_tokens, int) else answer
