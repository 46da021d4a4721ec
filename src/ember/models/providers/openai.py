"""The ``openai`` provider: chat completions through the official ``openai`` SDK.

Works with OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, the
loopback test server) via ``base_url`` or ``OPENAI_BASE_URL``. Plain calls use
``openai.OpenAI``, calls on an event loop ``openai.AsyncOpenAI``, streams
``stream=True`` with ``stream_options={"include_usage": True}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ember.models._text import clip
from ember.models.errors import MalformedResponseError
from ember.models.providers._sdk import SDKProvider
from ember.models.request import Message
from ember.models.response import Completion, Usage

__all__ = ["OpenAIProvider"]

_REASONING_PREFIXES = ("o1", "o3", "o4")


class OpenAIProvider(SDKProvider):
    """Chat completions through ``openai.OpenAI`` / ``AsyncOpenAI`` (SDK retries off).

    Args:
        api_key: the key (default: ``OPENAI_API_KEY``).
        base_url: server URL, e.g. ``http://localhost:8000/v1`` (default:
            ``OPENAI_BASE_URL``, else OpenAI).
        timeout: seconds a request may take (default 60).
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 408/409/429/5xx and connection failures.
        rate_limit: a requests/tokens-per-minute budget for this provider's calls.

    Raises:
        InvalidParamsError: a bad setting (the message names it).

    Example:
        >>> provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="EMPTY")
        >>> provider.base_url, provider.timeout
        ('http://127.0.0.1:9/v1', 60.0)
    """

    sdk_module = "openai"
    client_class = "OpenAI"
    async_client_class = "AsyncOpenAI"
    key_variable = "OPENAI_API_KEY"
    base_url_variable = "OPENAI_BASE_URL"
    stream_arguments = {"stream": True, "stream_options": {"include_usage": True}}
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
    known_models: ClassVar[tuple[str, ...]] = (
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "o1",
        "o3-mini",
    )

    def request(
        self, model: str, messages: list[Message], params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The arguments of one ``chat.completions.create`` (system first, o-series tokens)."""
        request = dict(params)
        system = request.pop("system", None)
        if system is not None:
            messages = [{"role": "system", "content": system}, *messages]
        if "max_tokens" in request and model.startswith(_REASONING_PREFIXES):
            request["max_completion_tokens"] = request.pop("max_tokens")
        if "timeout" in request:
            request["timeout"] = self.timeout_for(request["timeout"])
        return {"model": model, "messages": messages, **request}

    def endpoint(self, client: Any) -> Callable[..., Any]:
        """``chat.completions.create`` of the given client."""
        send: Callable[..., Any] = client.chat.completions.create
        return send

    def completion(self, reply: Any) -> Completion:
        """The text and usage of a reply (see ``_completion``)."""
        return _completion(reply)

    def stream_reader(self) -> _StreamReader:
        """A reader for one streamed reply."""
        return _StreamReader()


def _usage(reported: Any) -> Usage:
    """Usage from an OpenAI ``usage`` object; counts that are missing become 0."""
    prompt = getattr(reported, "prompt_tokens", None)
    completion = getattr(reported, "completion_tokens", None)
    prompt = prompt if isinstance(prompt, int) else 0
    completion = completion if isinstance(completion, int) else 0
    total = getattr(reported, "total_tokens", None)
    return Usage(prompt, completion, total if isinstance(total, int) else prompt + completion)


def _completion(reply: Any) -> Completion:
    """The text and usage of a chat completion, or a clear error when it has none."""
    choices = getattr(reply, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedResponseError(
            f"the server answered with success but the reply has no 'choices' "
            f"(got {clip(reply, 160)}); an OpenAI-compatible server must return "
            f"choices[0].message.content. Not retried: the request was processed."
        )
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        refusal = getattr(message, "refusal", None)
        if not isinstance(refusal, str):
            raise MalformedResponseError(
                f"the server answered with success but choices[0].message has no text "
                f"'content' (got {clip(message, 160)}). Not retried: the request was "
                f"processed."
            )
        content = refusal
    usage = getattr(reply, "usage", None)
    return Completion(content, _usage(usage) if usage is not None else Usage())


class _StreamReader:
    """Text and usage from the chunks of one streamed chat completion."""

    marker = "finish_reason"

    def __init__(self) -> None:
        self.saw_choices = False
        self.ended = False  # a finish_reason (or the usage chunk, sent last) arrived
        self.usage = Usage()

    def feed(self, chunk: Any) -> str | None:
        """The text of one chunk (``None`` when it carries none)."""
        reported = getattr(chunk, "usage", None)
        if reported is not None:
            self.usage = _usage(reported)
            self.ended = True
        choices = getattr(chunk, "choices", None)
        if not choices:
            return None
        self.saw_choices = True
        if getattr(choices[0], "finish_reason", None) is not None:
            self.ended = True
        content = getattr(getattr(choices[0], "delta", None), "content", None)
        return content if isinstance(content, str) else None

    def finish(self) -> Usage:
        """The usage the stream reported.

        Raises:
            MalformedResponseError: the stream ended without any ``choices``.
        """
        if not self.saw_choices:
            raise MalformedResponseError(
                "the server's stream ended without any 'choices' chunk; an "
                "OpenAI-compatible server streams choices[0].delta.content."
            )
        return self.usage
