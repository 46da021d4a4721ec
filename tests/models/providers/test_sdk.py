"""What the SDK-based providers share (``providers._sdk``), through the real ``openai``
and ``anthropic`` clients against the loopback server: a successful reply the SDK
cannot read is a ``MalformedResponseError`` on every path, plain or streamed, sync or
async, and is not retried."""

import asyncio
import json

import pytest

from ember.models import AnthropicProvider, MalformedResponseError, OpenAIProvider, RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


def latin_1(value):
    """``value`` as JSON re-encoded as Latin-1, as a misconfigured proxy might send it:
    the "é" of "café" becomes the byte 0xe9, which is not UTF-8."""
    return json.dumps(value, ensure_ascii=False).encode("latin-1")


# provider class, its base URL on the server, a reply body, a stream body
PROVIDERS = {
    "openai": (
        OpenAIProvider,
        "openai_base_url",
        latin_1({
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "café"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }),
        b"data: " + latin_1({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "café"}, "finish_reason": None}],
        }) + b"\n\n",
    ),
    "anthropic": (
        AnthropicProvider,
        "anthropic_base_url",
        latin_1({
            "id": "m", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "café"}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1},
        }),
        b"event: content_block_delta\ndata: " + latin_1({
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "café"},
        }) + b"\n\n",
    ),
}


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_reply_that_is_not_utf8_is_malformed_on_every_path(server, name):
    kind, url, reply, events = PROVIDERS[name]
    provider = kind(base_url=getattr(server, url), api_key="k", retry=FAST_RETRY)

    async def astreamed():
        return [chunk async for chunk in provider.astream(name, "m", "x", {})]

    calls = {
        "sync": lambda: provider.complete(name, "m", "x", {}),
        "async": lambda: asyncio.run(provider.acomplete(name, "m", "x", {})),
        "stream": lambda: list(provider.stream(name, "m", "x", {})),
        "astream": lambda: asyncio.run(astreamed()),
    }
    for path, call in calls.items():
        server.reply_body = events if "stream" in path else reply
        with pytest.raises(MalformedResponseError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith(f"{name}/m: ") and "not UTF-8 text" in message, path
        assert "byte 0xe9 at position" in message
        assert f"base_url ('{getattr(server, url)}')" in message and "Not retried" in message
        assert isinstance(caught.value.__cause__, UnicodeDecodeError)
    assert server.stats().requests == 4  # one each: the server had processed them
