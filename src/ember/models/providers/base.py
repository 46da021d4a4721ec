"""``Provider``: one backend that turns chat messages into a completion.

A provider sends one request per ``send`` (``asend`` on an event loop,
``send_stream`` / ``asend_stream`` for streamed replies). ``complete``,
``acomplete``, ``stream`` and ``astream`` wrap those hooks with everything every
provider shares: prompt and parameter checks, the rate limits, the retry policy
(``Retry-After`` included), the per-provider concurrency cap (for plain callers;
under ``@jit`` the engine enforces the same cap through the op's ``max_concurrency``),
the check of what the hook returned, and the ``Response``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from typing import Any, ClassVar

from ember.models._checks import awaited_hook, check_instance, check_positive_int
from ember.models._slots import Slots, may_take_slots
from ember.models.errors import ProviderTimeoutError
from ember.models.providers._call import PreparedCall
from ember.models.providers._worker import in_worker_thread
from ember.models.ratelimit import RateLimit
from ember.models.request import Message, validate_params
from ember.models.response import Completion, Response, Usage
from ember.models.retry import RetryPolicy, is_retryable_status
from ember.models.stream import AsyncModelStream, ModelStream
from ember.xcs.tracing import context  # the library hook: settle_earlier before a stream

__all__ = ["DEFAULT_TIMEOUT", "Completion", "Provider"]

DEFAULT_TIMEOUT = 60.0
"""Seconds a request may take before it fails (``timeout=`` on a provider or a call)."""


class Provider(ABC):
    """Base class of model providers.

    Subclasses set ``accepted_params`` (and ``max_temperature`` if not 2) and
    implement ``send``. Optional hooks: ``asend`` (a native async request; the
    default runs ``send`` in a worker thread), ``send_stream`` / ``asend_stream``
    (streamed replies; the default sends one chunk with the whole text) and
    ``prepare`` (check the SDK and the key before any call is submitted).

    Args:
        max_concurrency: at most this many calls of this provider at once, process-wide
            (``None``: no cap).
        retry: the retry policy (default ``RetryPolicy()``).
        rate_limit: a requests/tokens-per-minute budget for all this provider's calls.

    Raises:
        InvalidParamsError: a setting of the wrong type or out of range.
    """

    accepted_params: ClassVar[frozenset[str]] = frozenset()
    max_temperature: ClassVar[float] = 2.0
    simulated: ClassVar[bool] = False
    known_models: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        owner = type(self).__name__
        check_positive_int(owner, "max_concurrency", max_concurrency)
        check_instance(owner, "retry", retry, RetryPolicy)
        check_instance(owner, "rate_limit", rate_limit, RateLimit)
        self.max_concurrency = max_concurrency
        self.retry = retry if retry is not None else RetryPolicy()
        self.rate_limit = rate_limit
        self._slots = Slots(max_concurrency, owner) if max_concurrency is not None else None

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

    async def asend(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Completion:
        """``send`` for an event loop. The default runs ``send`` in a worker thread.

        Cancelled meanwhile (an earlier call of the program failed), it still waits for
        that thread, whose request cannot be taken back: nothing of a call that has
        raised keeps running, as in plain Python, where the request would have finished.
        Whatever ``send`` raises (``StopIteration`` and ``KeyboardInterrupt`` too) is
        raised here (see ``in_worker_thread``).
        """
        return await in_worker_thread(self.send, model, messages, params)

    def send_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Iterator[str | Usage]:
        """One streamed request: yield text chunks, then (optionally) one ``Usage``.

        The default sends one ordinary request and yields its whole text.
        """
        completion = self.send(model, messages, params)
        yield completion.text
        yield completion.usage

    async def asend_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        """``send_stream`` for an event loop (default: one ``asend``, one chunk)."""
        completion = await awaited_hook(self, "asend", self.asend(model, messages, params))
        yield completion.text
        yield completion.usage

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is worth another attempt: HTTP 408/409/429/5xx, connection
        failures (``ConnectionError``: refused, reset, aborted; ``socket.gaierror``: DNS),
        and timeouts when the policy says ``retry_timeouts=True``."""
        if isinstance(error, ProviderTimeoutError):
            return self.retry.retry_timeouts
        return isinstance(error, ConnectionError | socket.gaierror) or is_retryable_status(error)

    def cache_identity(self) -> str:
        """What, besides the model and the arguments, decides this provider's replies.

        Part of the result cache's key for model calls. The default is the provider's
        class; providers that talk to a server add where they send requests.
        """
        kind = type(self)
        return f"{kind.__module__}.{kind.__qualname__}"

    def failure_note(self, error: BaseException, params: Mapping[str, Any]) -> str | None:
        """A note to add to ``error`` explaining it in this provider's terms (or None).

        The default has nothing to add.
        """
        return None

    def validate(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Check ``params`` for this provider (names and values).

        Raises:
            InvalidParamsError: unknown name (with a "did you mean") or bad value.
        """
        validate_params(
            model_id, params, self.accepted_params, max_temperature=self.max_temperature
        )

    def complete(
        self,
        provider_name: str,
        model: str,
        prompt: object,
        params: Mapping[str, Any],
        *,
        rate_limits: tuple[RateLimit, ...] = (),
    ) -> Response:
        """Run one model call in this thread: check, send with retries, wrap the reply.

        Args:
            provider_name: the name this provider is registered under.
            model: the model name within the provider.
            prompt: text or chat messages.
            params: call parameters.
            rate_limits: extra budgets to respect (a binding's), besides the provider's.

        Returns:
            The reply as a ``Response``.

        Raises:
            InvalidParamsError: bad prompt or parameters.
            ProviderError: the reply was unusable (``MalformedResponseError``), a
                simulated failure, ...; the message starts with the model id.
            The backend's own error when the retry policy gives up.
        """
        call = PreparedCall(self, provider_name, model, prompt, params, rate_limits)
        failed = 0
        while True:
            try:
                completion = self._attempt(call)
            except Exception as error:
                failed += 1
                wait = self._next_wait(call, failed, error)
            else:
                return call.finish(completion)
            time.sleep(wait)

    def _attempt(self, call: PreparedCall) -> Completion:
        """One request: book the rate limits, take a slot, send."""
        if call.limits:
            call.book()
        slots = self._slots
        if slots is None:
            return self.send(call.model, call.messages, call.params)
        owner = slots.acquire()
        try:
            return self.send(call.model, call.messages, call.params)
        finally:
            slots.release(owner)

    def _next_wait(self, call: PreparedCall, failed: int, error: Exception) -> float:
        """The wait before the next attempt after ``failed`` failures, or raise ``error``."""
        call.failed(error)
        wait = self.retry.next_wait(
            failed, error, retryable=self.is_retryable, describe=call.model_id
        )
        if wait is None:
            raise error
        return wait

    async def acomplete(
        self,
        provider_name: str,
        model: str,
        prompt: object,
        params: Mapping[str, Any],
        *,
        rate_limits: tuple[RateLimit, ...] = (),
    ) -> Response:
        """``complete`` on the running event loop: every wait is an ``await``.

        Same arguments, result and errors as ``complete``.
        """
        call = PreparedCall(self, provider_name, model, prompt, params, rate_limits)
        failed = 0
        while True:
            try:
                # The common case, inline: no limit to book, no slot to take.
                if not call.limits and self._slots is None:
                    completion = await awaited_hook(
                        self, "asend", self.asend(call.model, call.messages, call.params))
                else:
                    completion = await self._aattempt(call)
            except Exception as error:
                failed += 1
                wait = self._next_wait(call, failed, error)
            else:
                return call.finish(completion)
            await asyncio.sleep(wait)

    def _asend(self, call: PreparedCall) -> Coroutine[Any, Any, Completion]:
        """The awaitable of ``asend`` for ``call`` (see ``awaited_hook``)."""
        return awaited_hook(self, "asend", self.asend(call.model, call.messages, call.params))

    async def _aattempt(self, call: PreparedCall) -> Completion:
        """``_attempt`` on the event loop: every wait is an ``await``."""
        if call.limits:
            await call.abook()
        slots = self._slots
        if slots is None:
            return await self._asend(call)
        owner = await slots.aacquire()
        try:
            return await self._asend(call)
        finally:
            slots.release(owner)

    def stream(
        self,
        provider_name: str,
        model: str,
        prompt: object,
        params: Mapping[str, Any],
        *,
        rate_limits: tuple[RateLimit, ...] = (),
    ) -> ModelStream:
        """Start a streamed call: the prompt and parameters are checked now, the
        request is sent when the stream is first read.

        Returns:
            A ``ModelStream`` of text chunks, then ``.response``.

        Raises:
            InvalidParamsError: bad prompt or parameters (at once).
        """
        call = PreparedCall(self, provider_name, model, prompt, params, rate_limits)
        return ModelStream(self._stream_pieces(call), call)

    def _stream_pieces(self, call: PreparedCall) -> Iterator[str | Usage]:
        failed = 0
        if self._slots is not None:  # under @jit, the calls before it take their slots first
            context.settle_earlier(may_take_slots(call.provider_name), _reason(call))
        while True:
            if call.limits:
                call.book()
            owner = self._slots.acquire() if self._slots is not None else None
            pieces = self.send_stream(call.model, call.messages, call.params)
            wait = 0.0
            try:
                try:
                    first = next(pieces)
                except StopIteration:
                    return
                except Exception as error:
                    failed += 1
                    wait = self._next_wait(call, failed, error)
                else:
                    yield first
                    try:
                        yield from pieces
                    except Exception as error:
                        call.failed(error)
                        raise
                    return
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
                if self._slots is not None:
                    self._slots.release(owner)
            time.sleep(wait)

    def astream(
        self,
        provider_name: str,
        model: str,
        prompt: object,
        params: Mapping[str, Any],
        *,
        rate_limits: tuple[RateLimit, ...] = (),
    ) -> AsyncModelStream:
        """``stream`` for ``async for``: checked now, sent when first awaited.

        Returns:
            An ``AsyncModelStream`` of text chunks, then ``.response``.

        Raises:
            InvalidParamsError: bad prompt or parameters (at once).
        """
        call = PreparedCall(self, provider_name, model, prompt, params, rate_limits)
        return AsyncModelStream(self._astream_pieces(call), call)

    async def _astream_pieces(self, call: PreparedCall) -> AsyncIterator[str | Usage]:
        failed = 0
        if self._slots is not None:  # (see _stream_pieces)
            await context.asettle_earlier(may_take_slots(call.provider_name), _reason(call))
        while True:
            if call.limits:
                await call.abook()
            owner = await self._slots.aacquire() if self._slots is not None else None
            pieces = self.asend_stream(call.model, call.messages, call.params)
            wait = 0.0
            try:
                try:
                    first = await pieces.__anext__()
                except StopAsyncIteration:
                    return
                except Exception as error:
                    failed += 1
                    wait = self._next_wait(call, failed, error)
                else:
                    yield first
                    try:
                        async for piece in pieces:
                            yield piece
                    except Exception as error:
                        call.failed(error)
                        raise
                    return
            finally:
                close = getattr(pieces, "aclose", None)
                if close is not None:
                    await close()
                if self._slots is not None:
                    self._slots.release(owner)
            await asyncio.sleep(wait)


def _reason(call: PreparedCall) -> str:
    """The barrier a stream of a capped provider is under ``@jit`` (``tracing.earlier``):
    the ops issued before it that may take one of its slots end first, as in plain
    Python, so that none of them waits for the slot the stream holds while read."""
    return f"stream of {call.model_id} (its provider's max_concurrency)"
