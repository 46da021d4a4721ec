"""``SDKProvider``: what the providers built on an official SDK share.

The SDK is imported on first use. The synchronous client is built once per provider
(thread-safely); asynchronous clients are built once per event loop, because an
async HTTP client's connections belong to the loop that opened them and must never
be used from another one. Every client has the SDK's own retries off
(``max_retries=0``) so ``RetryPolicy`` is the only retry layer, and a timeout of
``timeout`` seconds per request (at most ``CONNECT_TIMEOUT`` of it to connect).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import threading
import weakref
from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from types import ModuleType
from typing import Any, ClassVar, NamedTuple

from ember.models._checks import check_base_url, check_number, check_text
from ember.models._text import clip
from ember.models.errors import MalformedResponseError, MissingAPIKeyError, MissingDependencyError
from ember.models.providers._events import StreamReader, aread_events, read_events
from ember.models.providers.base import DEFAULT_TIMEOUT, Provider
from ember.models.ratelimit import RateLimit
from ember.models.request import Message
from ember.models.response import Completion, Usage
from ember.models.retry import RetryPolicy

__all__ = ["CONNECT_TIMEOUT", "SDKProvider", "StreamReader"]

CONNECT_TIMEOUT = 10.0
"""Seconds allowed to open a connection (the rest of ``timeout`` is for the reply)."""


class SDKProvider(Provider):
    """Base class of providers that talk to an official SDK client.

    Subclasses name the SDK module, the client classes and the environment variables
    for the key and the base URL, and say how to build a request (``request``), which
    SDK method sends it (``endpoint``), how to read a reply (``completion``) and a
    stream (``stream_reader``, ``stream_arguments``). The four ways of sending (plain
    or streamed, sync or async) are written once, here.

    Args:
        api_key: the key (default: the ``key_variable`` environment variable).
        base_url: server URL (default: the ``base_url_variable`` environment
            variable, else the SDK's default).
        timeout: seconds a request may take (default 60; at most 10 of them to
            connect). Timed-out requests are not retried unless the retry policy
            says ``retry_timeouts=True``.
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 408/409/429/5xx and connection failures.
        rate_limit: a requests/tokens-per-minute budget for this provider's calls.

    Raises:
        InvalidParamsError: a setting of the wrong type or out of range (the message
            names it), including a ``base_url`` from the environment.
    """

    sdk_module: ClassVar[str]
    client_class: ClassVar[str]
    async_client_class: ClassVar[str]
    key_variable: ClassVar[str]
    base_url_variable: ClassVar[str]
    # Used when neither the argument nor the environment gives one (a local server's
    # fixed address; a placeholder key for servers that ignore keys).
    default_base_url: ClassVar[str | None] = None
    default_api_key: ClassVar[str | None] = None
    stream_arguments: ClassVar[Mapping[str, Any]] = {"stream": True}

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(max_concurrency=max_concurrency, retry=retry, rate_limit=rate_limit)
        owner = type(self).__name__
        check_text(owner, "api_key", api_key)
        check_base_url(owner, base_url)
        if base_url is None:
            base_url = os.environ.get(self.base_url_variable) or None
            check_base_url(owner, base_url, source=f"${self.base_url_variable}")
            base_url = base_url or self.default_base_url
        self.base_url = base_url
        self.timeout = check_number(owner, "timeout", timeout)
        self._api_key = api_key
        # Guards building clients: many threads (and loops) may make a first call at once.
        self._lock = threading.Lock()
        self._sdk: ModuleType | None = None
        self._client: Any = None
        # The async client of each event loop, for lookup ...
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        # ... and every async client with its loop and the generator that closes it when
        # that loop shuts down, held outside this provider: when the provider is
        # dropped, ``_close_async_clients`` closes them on their loops. Clients must
        # never be left for the garbage collector: it would close their sockets behind
        # the event loop's back, and a later close of the stale connection could
        # unregister a new socket that reused the file descriptor.
        self._async_held: list[_HeldClient] = []
        finalizer = weakref.finalize(self, _close_async_clients, self._async_held)
        finalizer.atexit = False

    def sdk(self) -> ModuleType:
        """The imported SDK module.

        Raises:
            MissingDependencyError: the SDK is not installed (names the extra).
        """
        if self._sdk is None:
            try:
                self._sdk = importlib.import_module(self.sdk_module)
            except ImportError as error:
                raise MissingDependencyError(
                    f"The {self.sdk_module!r} package is needed for {self.sdk_module} models; "
                    f"install it with: pip install 'ember-xcs[{self.sdk_module}]'"
                ) from error
        return self._sdk

    def timeout_for(self, seconds: float) -> Any:
        """The SDK's ``Timeout`` for a request of ``seconds`` (connect part capped)."""
        return self.sdk().Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))

    def _client_settings(self) -> dict[str, Any]:
        key = self._api_key or os.environ.get(self.key_variable) or self.default_api_key
        if not key:
            raise MissingAPIKeyError(
                f"No API key for {self.sdk_module}: set the {self.key_variable} "
                f"environment variable or pass api_key=... to the provider "
                f"(a local server that needs no key accepts api_key='EMPTY')."
            )
        return {
            "api_key": key,
            "base_url": self.base_url,
            "timeout": self.timeout_for(self.timeout),
            "max_retries": 0,
        }

    def client(self) -> Any:
        """The synchronous SDK client, built on first use and then reused.

        Raises:
            MissingDependencyError: the SDK is not installed.
            MissingAPIKeyError: no key given and the environment variable is unset.
        """
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                sdk = self.sdk()
                self._client = getattr(sdk, self.client_class)(**self._client_settings())
            return self._client

    def async_client(self) -> Any:
        """The async SDK client of the running event loop (one per loop, reused).

        The client is closed on its own loop when that loop shuts down
        (``asyncio.run`` does so), and forgotten once the loop is closed.

        Raises:
            MissingDependencyError, MissingAPIKeyError: as ``client``.
            RuntimeError: no event loop is running in this thread.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is not None:
                return client
            for old in [old for old in self._async_clients if old.is_closed()]:
                del self._async_clients[old]
            self._async_held[:] = [held for held in self._async_held if held.loop_is_open()]
            sdk = self.sdk()
            client = getattr(sdk, self.async_client_class)(**self._client_settings())
            self._async_clients[loop] = client
            self._async_held.append(
                _HeldClient(weakref.ref(loop), client, _close_at_shutdown(client))
            )
            return client

    def cache_identity(self) -> str:
        """The provider class and the server it sends requests to."""
        return f"{super().cache_identity()}@{self.base_url or 'sdk-default'}"

    def prepare(self) -> None:
        """Import the SDK and build the client (checks the SDK and the key)."""
        self.client()

    def is_retryable(self, error: BaseException) -> bool:
        """408/409/429/5xx and connection failures; timeouts only if the policy says so."""
        sdk = self.sdk()
        if isinstance(error, sdk.APITimeoutError):
            return self.retry.retry_timeouts
        return isinstance(error, sdk.APIConnectionError) or super().is_retryable(error)

    def failure_note(self, error: BaseException, params: Mapping[str, Any]) -> str | None:
        """For a timeout: the limit that applied and how to change it."""
        if not isinstance(error, self.sdk().APITimeoutError):
            return None
        seconds = params.get("timeout", self.timeout)
        retried = (
            "timeouts are retried (RetryPolicy(retry_timeouts=True))"
            if self.retry.retry_timeouts
            else "timeouts are not retried (RetryPolicy(retry_timeouts=False))"
        )
        return (
            f"no reply within timeout={seconds:g} s; {retried}. For long generations pass "
            f"timeout=... to the call or the provider, or use models.stream."
        )

    @abstractmethod
    def request(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The keyword arguments of one SDK request for ``model``."""

    @abstractmethod
    def endpoint(self, client: Any) -> Callable[..., Any]:
        """The SDK method that sends a request (sync or async, by the client)."""

    @abstractmethod
    def completion(self, reply: Any) -> Completion:
        """The text and usage of a reply, or a ``MalformedResponseError``."""

    @abstractmethod
    def stream_reader(self) -> StreamReader:
        """A fresh reader for one streamed reply."""

    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """One request on the synchronous client."""
        request = self.request(model, messages, params)
        try:
            reply = self.endpoint(self.client())(**request)
        except _UNREADABLE as error:
            raise self.malformed_body(error) from error
        return self.completion(reply)

    async def asend(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Completion:
        """One request on this event loop's async client."""
        request = self.request(model, messages, params)
        try:
            reply = await self.endpoint(self.async_client())(**request)
        except _UNREADABLE as error:
            raise self.malformed_body(error) from error
        return self.completion(reply)

    def send_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> Iterator[str | Usage]:
        """One streamed request: the text of each event, then the usage."""
        request = self.request(model, messages, params)
        try:
            stream = self.endpoint(self.client())(**request, **self.stream_arguments)
            yield from read_events(self.sdk(), stream, self.stream_reader())
        except _UNREADABLE as error:
            raise self.malformed_body(error) from error

    async def asend_stream(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> AsyncIterator[str | Usage]:
        """``send_stream`` on this event loop's async client."""
        request = self.request(model, messages, params)
        try:
            stream = await self.endpoint(self.async_client())(**request, **self.stream_arguments)
            pieces = aread_events(self.sdk(), stream, self.stream_reader())
            try:
                async for piece in pieces:
                    yield piece
            finally:  # left early: the stream closes now, not when collected
                await pieces.aclose()
        except _UNREADABLE as error:
            raise self.malformed_body(error) from error

    def malformed_body(
        self, error: json.JSONDecodeError | UnicodeDecodeError
    ) -> MalformedResponseError:
        """The error for a reply whose body is not JSON, or not UTF-8 text as JSON must
        be (the SDK raised ``error``, a ``JSONDecodeError`` or ``UnicodeDecodeError``)."""
        if isinstance(error, UnicodeDecodeError):
            body: object = error.object
            problem = (f"is not UTF-8 text, as JSON must be (byte {error.object[error.start]:#04x} "
                       f"at position {error.start}: {error.reason}; a server or proxy that "
                       f"re-encodes replies in another charset sends such bodies)")
        else:
            body = error.doc
            problem = f"is not valid JSON ({error.msg} at position {error.pos})"
        where = self.base_url or f"the {self.sdk_module} default URL"
        return MalformedResponseError(
            f"the server answered with success but its body {problem}; the body starts: "
            f"{clip(body, 120)}. Check that base_url ({clip(where, 120)}) points at the "
            f"model API. Not retried: the server has already processed the request."
        )


# What the SDKs raise for a successful reply they cannot read: its body is not JSON, or
# not UTF-8 text (they decode the raw bytes, whatever charset the reply names).
_UNREADABLE = (json.JSONDecodeError, UnicodeDecodeError)


class _HeldClient(NamedTuple):
    """An async client, the loop it belongs to, and its loop-shutdown closer."""

    loop: weakref.ref[asyncio.AbstractEventLoop]
    client: Any
    closer: AsyncGenerator[None, None]

    def loop_is_open(self) -> bool:
        loop = self.loop()
        return loop is not None and not loop.is_closed()


def _close_async_clients(held: list[_HeldClient]) -> None:
    """Close each client on its own loop (its provider was dropped); skip closed loops."""
    for entry in held:
        loop = entry.loop()
        if loop is None or loop.is_closed():
            continue
        try:
            loop.call_soon_threadsafe(_start_closing, loop, entry.client)
        except RuntimeError:  # the loop closed meanwhile: its sockets went with it
            continue


def _start_closing(loop: asyncio.AbstractEventLoop, client: Any) -> None:
    if not client.is_closed():
        loop.create_task(client.close())


def _close_at_shutdown(client: Any) -> AsyncGenerator[None, None]:
    """Arrange for ``client`` to be closed on the running loop when that loop shuts down.

    An async client's connections belong to its loop and can only be closed there, and
    an event loop offers no shutdown callback, except that it finalises the async
    generators still suspended in it (``asyncio.run`` calls ``shutdown_asyncgens``
    before closing the loop). So this starts a generator that waits at its ``yield``
    and closes the client in its ``finally``. Closed there, the client does not try
    to close itself later from another loop (the SDKs' ``__del__`` would).
    """

    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.close()

    generator = closer()
    try:  # advance to the ``yield``: this registers the generator with the running loop
        generator.asend(None).send(None)
    except StopIteration:
        pass
    return generator
