"""The bytes the loopback server sends: OpenAI and Anthropic bodies and stream events.

Pure functions from a request to its reply, so that the server (``loopback``) only
decides *which* reply a request gets (faults, limits, latency) and sends it.
``reply_text`` is deterministic: the model name and the start of the last user
message, or one of the options of an "Answer with one of:" instruction.

Example:
    >>> reply_text("m", ["hello   there"])
    '[loopback m] hello there'
    >>> error_body(True, 429, "slow down")["error"]["type"]
    'rate_limit_error'
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from ember.models.choices import offered_options, pick
from ember.models.response import Usage

__all__ = [
    "anthropic_body",
    "anthropic_events",
    "encode",
    "error_body",
    "openai_body",
    "openai_events",
    "reply_text",
    "request_texts",
]

_WORDS = re.compile(r"(?<=\s)(?=\S)")  # before each word after the first: stream chunks


def encode(payload: dict[str, Any]) -> bytes:
    """``payload`` as the JSON bytes of a reply body or event."""
    return json.dumps(payload).encode("utf-8")


def request_texts(request: dict[str, Any]) -> list[str]:
    """The texts of a chat request in order: the Anthropic ``system`` text, then each
    message's content (the text parts of a list content).

    Raises:
        KeyError, TypeError: the request has no ``messages`` list of messages.
    """
    texts = [str(request["system"])] if isinstance(request.get("system"), str) else []
    for message in request["messages"]:
        content = message["content"]
        if isinstance(content, list):
            texts.extend(str(part.get("text", "")) for part in content)
        else:
            texts.append(str(content))
    return texts


def reply_text(model: str, texts: list[str]) -> str:
    """The deterministic reply to a request whose texts are ``texts``."""
    last = texts[-1] if texts else ""
    options = offered_options(last)
    if options:
        return pick(options, "loopback", model, texts)
    return f"[loopback {model}] {' '.join(last.split())[:60]}"


def openai_body(model: str, text: str, usage: Usage) -> dict[str, Any]:
    """A chat completion (``POST /v1/chat/completions``) answering ``text``."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": openai_usage(usage),
    }


def openai_usage(usage: Usage) -> dict[str, int]:
    """``usage`` in the OpenAI field names."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def openai_events(model: str, text: str, usage: Usage | None) -> Iterator[bytes]:
    """A streamed chat completion: role, one chunk per word, finish, usage, ``[DONE]``."""
    base = {
        "id": "chatcmpl-loopback",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return b"data: " + encode({**base, "choices": [choice]}) + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for word in _WORDS.split(text):
        yield chunk({"content": word})
    yield chunk({}, "stop")
    if usage is not None:
        yield b"data: " + encode({**base, "choices": [], "usage": openai_usage(usage)}) + b"\n\n"
    yield b"data: [DONE]\n\n"


def anthropic_body(model: str, text: str, usage: Usage) -> dict[str, Any]:
    """A message (``POST /v1/messages``) answering ``text``."""
    return {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens},
    }


def anthropic_events(model: str, text: str, usage: Usage) -> Iterator[bytes]:
    """A streamed message: start, one text delta per word, delta with usage, stop."""

    def event(kind: str, payload: dict[str, Any]) -> bytes:
        return f"event: {kind}\n".encode() + b"data: " + encode({"type": kind, **payload}) + b"\n\n"

    message = {
        **anthropic_body(model, "", usage),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": usage.prompt_tokens, "output_tokens": 1},
    }
    yield event("message_start", {"message": message})
    yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    yield event("ping", {})
    for word in _WORDS.split(text):
        yield event(
            "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}}
        )
    yield event("content_block_stop", {"index": 0})
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage.completion_tokens},
        },
    )
    yield event("message_stop", {})


def error_body(anthropic_format: bool, status: int, message: str) -> dict[str, Any]:
    """An error body in the format of the API asked (its ``type`` follows ``status``)."""
    kind = {400: "invalid_request_error", 429: "rate_limit_error"}.get(status, "api_error")
    if anthropic_format:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": str(status)}}
