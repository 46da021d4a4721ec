"""The ``openai`` provider: chat completions through the official ``openai`` SDK.

Works with OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, the
loopback test server) via ``base_url`` or ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.models.providers._sdk import SDKProvider
from ember.models.providers.base import Completion
from ember.models.request import Message
from ember.models.response import Usage

__all__ = ["OpenAIProvider"]

_REASONING_PREFIXES = ("o1", "o3", "o4")


class OpenAIProvider(SDKProvider):
    """Chat completions through ``openai.OpenAI`` (SDK retries off; ours apply).

    Args:
        api_key: the key (default: ``OPENAI_API_KEY``).
        base_url: server URL, e.g. ``http://localhost:8000/v1`` (default:
            ``OPENAI_BASE_URL``, else OpenAI).
        timeout: seconds per request.
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 429 and 5xx replies.

    Example:
        >>> provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="EMPTY")
        >>> provider.base_url
        'http://127.0.0.1:9/v1'
    """

    sdk_module = "openai"
    client_class = "OpenAI"
    key_variable = "OPENAI_API_KEY"
    base_url_variable = "OPENAI_BASE_URL"
    accepted_params = frozenset(
        {
            "temperature",
            "max_tokens",
            "top_p",
            "stop",
            "system",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "user",
            "timeout",
        }
    )
    known_models = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o1", "o3-mini")

    def send(self, model: str, messages: list[Message], params: Mapping[str, Any]) -> Completion:
        """One ``chat.completions.create`` request."""
        request = dict(params)
        system = request.pop("system", None)
        if system is not None:
            messages = [{"role": "system", "content": system}, *messages]
        if "max_tokens" in request and model.startswith(_REASONING_PREFIXES):
            request["max_completion_tokens"] = request.pop("max_tokens")
        reply = self.client().chat.completions.create(model=model, messages=messages, **request)
        text = (reply.choices[0].message.content or "") if reply.choices else ""
        usage = reply.usage
        if usage is None:
            return Completion(text, Usage())
        return Completion(
            text,
            Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        )
