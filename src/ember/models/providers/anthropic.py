"""The ``anthropic`` provider: the Messages API through the official ``anthropic`` SDK.

Plain calls use ``anthropic.Anthropic``, calls on an event loop
``anthropic.AsyncAnthropic``, streams ``stream=True`` (the raw server-sent events:
``message_start`` carries the input tokens, ``content_block_delta`` the text,
``message_delta`` the output tokens).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ember.models._text import clip
from ember.models.errors import MalformedResponseError
from ember.models.providers._sdk import SDKProvider
from ember.models.request import Message
from ember.models.response import Completion, Usage

__all__ = ["AnthropicProvider"]

_DEFAULT_MAX_TOKENS = 1024
_SAMPLING = ("temperature", "top_p", "top_k")


class AnthropicProvider(SDKProvider):
    """Messages through ``anthropic.Anthropic`` / ``AsyncAnthropic`` (SDK retries off).

    ``system`` messages and the ``system=`` parameter become the request's system
    prompt; ``max_tokens`` defaults to 1024 because the API requires it.

    Args:
        api_key: the key (default: ``ANTHROPIC_API_KEY``).
        base_url: server URL (default: ``ANTHROPIC_BASE_URL``, else Anthropic).
        timeout: seconds a request may take (default 60).
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 408/409/429/5xx and connection failures.
        rate_limit: a requests/tokens-per-minute budget for this provider's calls.

    Raises:
        InvalidParamsError: a bad setting (the message names it).

    Example:
        >>> AnthropicProvider(base_url="http://127.0.0.1:9", api_key="k").base_url
        'http://127.0.0.1:9'
    """

    sdk_module = "anthropic"
    client_class = "Anthropic"
    async_client_class = "AsyncAnthropic"
    key_variable = "ANTHROPIC_API_KEY"
    base_url_variable = "ANTHROPIC_BASE_URL"
    accepted_params = frozenset(
        {"temperature", "max_tokens", "top_p", "top_k", "stop", "system", "timeout"}
    )
    max_temperature = 1.0
    known_models = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest")

    def request(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The arguments of one ``messages.create`` (system prompt, stop sequences)."""
        request = dict(params)
        systems = [m["content"] for m in messages if m["role"] == "system"]
        if "system" in request:
            systems.insert(0, request.pop("system"))
        if systems:
            request["system"] = "\n\n".join(systems)
        if "stop" in request:
            stop = request.pop("stop")
            request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "timeout" in request:
            request["timeout"] = self.timeout_for(request["timeout"])
        request.setdefault("max_tokens", _DEFAULT_MAX_TOKENS)
        unnamed = [name for name in _SAMPLING if name in request and name not in _sdk_keywords()]
        if unnamed:  # sent all the same, as the SDK's own extra_body sends them
            request["extra_body"] = {name: request.pop(name) for name in unnamed}
        chat = [m for m in messages if m["role"] != "system"]
        return {"model": model, "messages": chat, **request}

    def endpoint(self, client: Any) -> Callable[..., Any]:
        """``messages.create`` of the given client."""
        send: Callable[..., Any] = client.messages.create
        return send

    def completion(self, reply: Any) -> Completion:
        """The text and usage of a reply (see ``_completion``)."""
        return _completion(reply)

    def stream_reader(self) -> _StreamReader:
        """A reader for one streamed reply."""
        return _StreamReader()


@functools.cache
def _sdk_keywords() -> frozenset[str]:
    """The keywords the installed SDK's ``messages.create`` names.

    Newer ``anthropic`` SDKs (2.x) no longer name ``temperature``, ``top_p`` and
    ``top_k``: passed as keywords they raise ``TypeError`` (``Messages.create() got an
    unexpected keyword argument``), even before the request is made. Those the SDK does
    not name go in the request body through ``extra_body`` instead, so a call means the
    same with every SDK version, and the server says whether it takes them.
    """
    try:
        from anthropic.resources.messages import Messages  # installed: checked by prepare()

        return frozenset(inspect.signature(Messages.create).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):  # a layout not known here
        return frozenset(_SAMPLING)  # pass them as keywords, as SDKs before 2.x name them


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _completion(reply: Any) -> Completion:
    """The text and usage of a Messages reply, or a clear error when it has no content."""
    content = getattr(reply, "content", None)
    if not isinstance(content, list):
        raise MalformedResponseError(
            f"the server answered with success but the reply has no 'content' list "
            f"(got {clip(reply, 160)}); a Messages API server must return content "
            f"blocks. Not retried: the request was processed."
        )
    text = "".join(
        block.text
        for block in content
        if getattr(block, "type", None) == "text" and isinstance(getattr(block, "text", None), str)
    )
    usage = getattr(reply, "usage", None)
    return Completion(
        text,
        Usage.of(
            _count(getattr(usage, "input_tokens", None)),
            _count(getattr(usage, "output_tokens", None)),
        ),
    )


class _StreamReader:
    """Text and usage from the server-sent events of one streamed message."""

    marker = "message_stop"

    def __init__(self) -> None:
        self.started = False
        self.ended = False  # message_stop, or a message_delta with its stop_reason
        self.input_tokens = 0
        self.output_tokens = 0

    def feed(self, event: Any) -> str | None:
        """The text of one event (``None`` when it carries none)."""
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self.started = True
            usage = getattr(getattr(event, "message", None), "usage", None)
            self.input_tokens = _count(getattr(usage, "input_tokens", None))
            self.output_tokens = _count(getattr(usage, "output_tokens", None))
        elif kind == "content_block_delta":
            delta = getattr(event, "delta", None)
            if getattr(delta, "type", None) == "text_delta":
                text = getattr(delta, "text", None)
                return text if isinstance(text, str) else None
        elif kind == "message_delta":
            output = getattr(getattr(event, "usage", None), "output_tokens", None)
            if isinstance(output, int):
                self.output_tokens = output
            if getattr(getattr(event, "delta", None), "stop_reason", None) is not None:
                self.ended = True
        elif kind == "message_stop":
            self.ended = True
        return None

    def finish(self) -> Usage:
        """The usage the stream reported.

        Raises:
            MalformedResponseError: the stream ended without a ``message_start`` event.
        """
        if not self.started:
            raise MalformedResponseError(
                "the server's stream ended without a 'message_start' event; a Messages "
                "API server streams message_start, content_block_delta, message_delta."
            )
        return Usage.of(self.input_tokens, self.output_tokens)
