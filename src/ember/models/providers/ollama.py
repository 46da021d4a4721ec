"""The ``ollama`` provider: local models served by Ollama, through the ``openai`` SDK.

Ollama answers the OpenAI chat-completions API at ``http://localhost:11434/v1``, so
this provider is the ``openai`` provider pointed there: same parameters, streaming,
retries and errors. It needs no API key. ``OLLAMA_BASE_URL`` (or ``base_url=``)
points it at another Ollama server; ``OLLAMA_API_KEY`` (or ``api_key=``) sets a key
for a server behind an authenticating proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.models.providers.openai import OpenAIProvider

__all__ = ["OLLAMA_BASE_URL", "OllamaProvider"]

OLLAMA_BASE_URL = "http://localhost:11434/v1"
"""Where a local Ollama serves its OpenAI-compatible API by default."""


class OllamaProvider(OpenAIProvider):
    """Chat completions from an Ollama server (``ollama/llama3.2:1b``, ...).

    Args:
        api_key: a key, only for servers behind a proxy that wants one (default:
            ``OLLAMA_API_KEY``, else a placeholder Ollama ignores).
        base_url: the server's OpenAI-compatible URL (default: ``OLLAMA_BASE_URL``,
            else ``http://localhost:11434/v1``).
        timeout, max_concurrency, retry, rate_limit: as ``OpenAIProvider``.

    Raises:
        InvalidParamsError: a bad setting (the message names it).

    Example:
        >>> OllamaProvider().base_url
        'http://localhost:11434/v1'
        >>> OllamaProvider(base_url="http://127.0.0.1:9/v1").base_url
        'http://127.0.0.1:9/v1'
    """

    key_variable = "OLLAMA_API_KEY"
    base_url_variable = "OLLAMA_BASE_URL"
    default_base_url = OLLAMA_BASE_URL
    default_api_key = "ollama"
    known_models = ("llama3.2:1b", "llama3.1:8b", "llama3.1:70b")

    def failure_note(self, error: BaseException, params: Mapping[str, Any]) -> str | None:
        """How to fix the two usual local failures: no server, or a model not pulled."""
        sdk = self.sdk()
        if isinstance(error, sdk.APIConnectionError) and not isinstance(
            error, sdk.APITimeoutError
        ):
            return (
                f"no Ollama server answered at {self.base_url}; start one with "
                f"`ollama serve`, or point OLLAMA_BASE_URL (or base_url=...) at yours."
            )
        if getattr(error, "status_code", None) == 404:
            return (
                "Ollama does not have this model; download it with `ollama pull <model>` "
                "(`ollama list` shows the ones it has)."
            )
        return super().failure_note(error, params)
