"""``PreparedCall``: one model call, checked and ready to send (shared by every path).

``Provider.complete``, ``acomplete``, ``stream`` and ``astream`` differ only in how
they wait and send; everything else about a call lives here once: the checked
messages and parameters, the rate limits it books before each attempt, what a failed
attempt tells them (``Retry-After``), the check of what ``send`` returned, and the
``Response`` at the end.

A ``PreparedCall`` reads its provider through ``CallingProvider`` (the few settings
and hooks it needs), which ``Provider`` satisfies; ``Provider`` builds the calls.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from ember.models._text import clip
from ember.models.errors import ProviderError
from ember.models.ratelimit import RateLimit
from ember.models.request import estimate_tokens, normalize_prompt
from ember.models.response import Completion, Response, Usage
from ember.models.retry import RetryPolicy, retry_after

__all__ = ["CallingProvider", "PreparedCall"]


class CallingProvider(Protocol):
    """What a ``PreparedCall`` reads from its provider (``Provider`` has all of it)."""

    @property
    def rate_limit(self) -> RateLimit | None:
        """The provider's own budget, booked after the binding's."""

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy (its ``max_retry_after`` caps a ``Retry-After`` pause)."""

    @property
    def simulated(self) -> bool:
        """Whether replies are simulated (copied onto the ``Response``)."""

    def validate(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Raise ``InvalidParamsError`` for a parameter the model does not accept."""

    def failure_note(self, error: BaseException, params: Mapping[str, Any]) -> str | None:
        """A hint to add to ``error``, or ``None``."""


class PreparedCall:
    """A checked call of ``model`` on ``provider``; raises at construction when invalid.

    Args:
        provider: the provider that will send it.
        provider_name: the name the provider is registered under.
        model: the model name within the provider.
        prompt: text or chat messages.
        params: call parameters.
        rate_limits: budgets of the binding, booked before the provider's own.

    Raises:
        InvalidParamsError: a bad prompt or parameter.
    """

    __slots__ = (
        "limits",
        "messages",
        "model",
        "model_id",
        "params",
        "provider",
        "provider_name",
        "started",
        "tokens",
    )

    def __init__(
        self,
        provider: CallingProvider,
        provider_name: str,
        model: str,
        prompt: object,
        params: Mapping[str, Any],
        rate_limits: tuple[RateLimit, ...] = (),
    ) -> None:
        self.provider = provider
        self.provider_name = provider_name
        self.model = model
        self.model_id = f"{provider_name}/{model}"
        self.messages = normalize_prompt(prompt, model_id=self.model_id)
        provider.validate(self.model_id, params)
        self.params = params
        own = provider.rate_limit
        self.limits = rate_limits if own is None else (*rate_limits, own)
        self.tokens = self._estimate() if self.limits else 0
        # ``Response.latency_ms`` counts from here: the whole call as its caller waits
        # for it (rate-limit waits and retries included), not one HTTP attempt.
        self.started = time.perf_counter()

    def _estimate(self) -> int:
        """Prompt tokens (about four characters each) plus ``max_tokens`` when given."""
        if not any(limit.tokens_per_minute for limit in self.limits):
            return 0
        text = "\n".join(message["content"] for message in self.messages)
        system = self.params.get("system")
        prompt = estimate_tokens(text + (system if isinstance(system, str) else ""))
        max_tokens = self.params.get("max_tokens")
        return prompt + (max_tokens if isinstance(max_tokens, int) else 0)

    def book(self) -> None:
        """Wait in this thread until every rate limit lets one more request start."""
        for limit in self.limits:
            limit.acquire(self.tokens)

    async def abook(self) -> None:
        """Wait with ``await`` until every rate limit lets one more request start."""
        for limit in self.limits:
            await limit.aacquire(self.tokens)

    def failed(self, error: BaseException) -> None:
        """Learn from a failed attempt: name the model, honour ``Retry-After``."""
        if isinstance(error, ProviderError) and error.model_id is None:
            error.model_id = self.model_id
        note = self.provider.failure_note(error, self.params)
        if note is not None:
            error.add_note(f"{self.model_id}: {note}")
        if self.limits:
            asked = retry_after(error)
            if asked is not None:
                pause = min(asked, self.provider.retry.max_retry_after)
                for limit in self.limits:
                    limit.pause(pause)

    def settle(self, usage: Usage) -> None:
        """Correct the rate limits' token estimate with the usage the reply reported."""
        for limit in self.limits:
            limit.settle(self.tokens, usage.total_tokens)

    def check(self, completion: object) -> Completion:
        """``completion`` when it is a ``Completion`` of a str and a ``Usage``.

        Raises:
            ProviderError: the provider's ``send`` returned something else.
        """
        if (
            isinstance(completion, Completion)
            and isinstance(completion.text, str)
            and isinstance(completion.usage, Usage)
        ):
            return completion
        raise ProviderError(
            f"{type(self.provider).__name__}.send returned {clip(completion, 80)}; a provider "
            f"must return Completion(text: str, usage: Usage).",
            model_id=self.model_id,
        )

    def finish(self, completion: object) -> Response:
        """The ``Response`` of a successful attempt (checked, rate limits settled)."""
        if type(completion) is Completion and type(completion.text) is str \
                and type(completion.usage) is Usage:  # ``check``'s common case, inline
            return self.response(completion.text, completion.usage)
        checked = self.check(completion)
        return self.response(checked.text, checked.usage)

    def response(self, text: str, usage: Usage) -> Response:
        """The call's ``Response``, after settling the rate limits, with its latency."""
        if self.limits:
            self.settle(usage)
        return Response(
            text,
            model_id=self.model_id,
            provider=self.provider_name,
            usage=usage,
            simulated=self.provider.simulated,
            latency_ms=(time.perf_counter() - self.started) * 1000.0,
            created=time.time(),
        )
