"""The ``anthropic`` provider: the Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.models.providers._sdk import SDKProvider
from ember.models.providers.base import Completion
from ember.models.request import Message
from ember.models.response import Usage

__all__ = ["AnthropicProvider"]

_DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(SDKProvider):
    """Messages through ``anthropic.Anthropic`` (SDK retries off; ours apply).

    ``system`` messages and the ``system=`` parameter become the request's system
    prompt; ``max_tokens`` defaults to 1024 because the API requires it.

    Args:
        api_key: the key (default: ``ANTHROPIC_API_KEY``).
        base_url: server URL (default: ``ANTHROPIC_BASE_URL``, else Anthropic).
        timeout: seconds per request.
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 429 and 5xx replies.

    Example:
        >>> AnthropicProvider(base_url="http://127.0.0.1:9", api_key="k").base_url
        'http://127.0.0.1:9'
    """

    sdk_module = "anthropic"
    client_class = "Anthropic"
    key_variable = "ANTHROPIC_API_KEY"
    base_url_variable = "ANTHROPIC_BASE_URL"
    accepted_params = frozenset(
        {"temperature", "max_tokens", "top_p", "top_k", "stop", "system", "timeout"}
    )
    max_temperature = 1.0
    known_models = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest")

    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """One ``messages.create`` request."""
        request = dict(params)
        systems = [m["content"] for m in messages if m["role"] == "system"]
        if "system" in request:
            systems.insert(0, request.pop("system"))
        if systems:
            request["system"] = "\n\n".join(systems)
        if "stop" in request:
            stop = request.pop("stop")
            request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        request.setdefault("max_tokens", _DEFAULT_MAX_TOKENS)
        chat = [m for m in messages if m["role"] != "system"]
        reply = self.client().messages.create(model=model, messages=chat, **request)
        text = "".join(
            block.text for block in reply.content if getattr(block, "type", None) == "text"
        )
        usage = reply.usage
        return Completion(text, Usage.of(usage.input_tokens, usage.output_tokens))
