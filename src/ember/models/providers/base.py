"""``Provider``: one backend that turns chat messages into a completion.

A provider does one request per ``send``. ``complete`` wraps it with everything every
provider shares: prompt normalisation, parameter checks, the retry policy, the
per-provider concurrency cap (for plain threaded callers; under ``@jit`` the engine
enforces the same cap through the op's ``max_concurrency``) and the ``Response``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, NamedTuple

from ember.models.errors import InvalidParamsError
from ember.models.request import Message, normalize_prompt, validate_params
from ember.models.response import Response, Usage
from ember.models.retry import RetryPolicy, is_retryable_status
from ember.xcs.config import is_positive_int_or_none

__all__ = ["Completion", "Provider"]


class Completion(NamedTuple):
    """What one successful request produced: the text and its token usage."""

    text: str
    usage: Usage


class Provider(ABC):
    """Base class of model providers.

    Subclasses set ``accepted_params`` (and ``max_temperature`` if not 2) and
    implement ``send``; SDK-backed ones also override ``prepare`` to check the SDK
    and the API key before any call is submitted.

    Args:
        max_concurrency: at most this many calls of this provider at once, process-wide
            (``None``: no cap).
        retry: the retry policy for 429 and 5xx replies.

    Raises:
        InvalidParamsError: ``max_concurrency`` is not a positive int or ``None``.
    """

    accepted_params: ClassVar[frozenset[str]] = frozenset()
    max_temperature: ClassVar[float] = 2.0
    simulated: ClassVar[bool] = False
    known_models: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, max_concurrency: int | None = None, retry: RetryPolicy | None = None):
        if not is_positive_int_or_none(max_concurrency):
            raise InvalidParamsError(
                f"{type(self).__name__}(max_concurrency=...) must be a positive int or None, "
                f"got {max_concurrency!r}."
            )
        self.max_concurrency = max_concurrency
        self.retry = retry if retry is not None else RetryPolicy()
        self._slots = (
            threading.BoundedSemaphore(max_concurrency) if max_concurrency is not None else None
        )

    def prepare(self) -> None:  # noqa: B027 - an optional hook, not an abstract step
        """Check that the provider can be called (SDK installed, key present).

        Called in the caller's thread before a call is submitted, so set-up errors
        surface where the call is written. The default does nothing.
        """

    @abstractmethod
    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """Make exactly one request and return its completion.

        Args:
            model: the model name within this provider (no ``provider/`` prefix).
            messages: checked chat messages.
            params: checked parameters.

        Returns:
            The completion text and its token usage.

        Raises:
            Whatever the backend raises; retryable ones carry ``status_code``.
        """

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is worth another attempt (default: HTTP 429 or 5xx)."""
        return is_retryable_status(error)

    def validate(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Check ``params`` for this provider (names and values).

        Raises:
            InvalidParamsError: unknown name or bad value.
        """
        validate_params(
            model_id, params, self.accepted_params, max_temperature=self.max_temperature
        )

    def complete(
        self, provider_name: str, model: str, prompt: object, params: Mapping[str, Any]
    ) -> Response:
        """Run one model call: check, send with retries, and wrap the reply.

        Args:
            provider_name: the name this provider is registered under.
            model: the model name within the provider.
            prompt: text or chat messages.
            params: call parameters.

        Returns:
            The reply as a ``Response``.

        Raises:
            InvalidParamsError: bad prompt or parameters.
            The backend's own error when the retry policy gives up.
        """
        model_id = f"{provider_name}/{model}"
        messages = normalize_prompt(prompt, model_id=model_id)
        self.validate(model_id, params)

        def attempt() -> Completion:
            with self._slot():
                return self.send(model, messages, params)

        completion = self.retry.run(attempt, retryable=self.is_retryable, describe=model_id)
        return Response(
            completion.text,
            model_id=model_id,
            provider=provider_name,
            usage=completion.usage,
            simulated=self.simulated,
        )

    def _slot(self) -> AbstractContextManager[Any]:
        return self._slots if self._slots is not None else nullcontext()
