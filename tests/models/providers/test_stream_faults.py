"""Streams that end before their reply does, through the real SDK clients against the
loopback server: a connection that closes cleanly mid-reply, or is reset. Either way
the caller gets the SDK's ``APIConnectionError`` (never a truncated reply that looks
whole, never the HTTP library's raw error), and a stream that broke before its first
chunk is retried."""

import asyncio

import anthropic
import openai
import pytest

from ember.models import AnthropicProvider, ModelError, OpenAIProvider, RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)
NO_RETRY = RetryPolicy(max_attempts=1)

# provider name, SDK, events that carry no text yet, events that carry two words
PROVIDERS = {
    "openai": (OpenAIProvider, openai, 1, 3),
    "anthropic": (AnthropicProvider, anthropic, 3, 5),
}


def provider_for(name, server, retry=NO_RETRY):
    kind = PROVIDERS[name][0]
    url = server.openai_base_url if name == "openai" else server.anthropic_base_url
    return kind(base_url=url, api_key="k", retry=retry)


def whole_reply(name, server, prompt):
    return provider_for(name, server).complete(name, "m", prompt, {"max_tokens": 50})


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_stream_cut_mid_reply_raises_the_sdk_connection_error(server, name, reset):
    sdk, _, with_text = PROVIDERS[name][1:]
    prompt = "a reply long enough to be cut in the middle"
    whole = whole_reply(name, server, prompt)
    server.cut_streams, server.cut_after, server.cut_with_reset = 1, with_text, reset
    stream = provider_for(name, server).stream(name, "m", prompt, {"max_tokens": 50})
    chunks = []
    with pytest.raises(sdk.APIConnectionError) as caught:
        for chunk in stream:
            chunks.append(chunk)
    message = str(caught.value)
    assert f"{len(''.join(chunks))} characters had arrived" in message
    assert ("broke while the reply streamed in" if reset else "closed early") in message
    assert chunks and whole.startswith("".join(chunks)) and "".join(chunks) != whole
    with pytest.raises(ModelError, match="the stream failed"):
        stream.response
    assert server.stats().requests == 2  # not retried: text had been handed out


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_an_async_stream_cut_mid_reply_raises_the_sdk_connection_error(server, name, reset):
    sdk, _, with_text = PROVIDERS[name][1:]
    server.cut_streams, server.cut_after, server.cut_with_reset = 1, with_text, reset

    async def read():
        chunks = []
        stream = provider_for(name, server).astream(name, "m", "cut me short please", {})
        with pytest.raises(sdk.APIConnectionError, match="characters had arrived"):
            async for chunk in stream:
                chunks.append(chunk)
        return chunks

    assert asyncio.run(read())


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_stream_cut_before_its_first_chunk_is_retried(server, name, reset):
    no_text = PROVIDERS[name][2]
    prompt = "try this again"
    whole = whole_reply(name, server, prompt)
    server.reset()
    server.cut_streams, server.cut_after, server.cut_with_reset = 1, no_text, reset
    stream = provider_for(name, server, retry=FAST_RETRY).stream(name, "m", prompt, {})
    assert stream.collect() == whole
    assert server.stats().requests == 2


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_async_stream_cut_before_its_first_chunk_is_retried(server, name):
    server.cut_streams, server.cut_after, server.cut_with_reset = 1, PROVIDERS[name][2], True

    async def read():
        stream = provider_for(name, server, retry=FAST_RETRY).astream(name, "m", "again", {})
        return "".join([chunk async for chunk in stream]), stream.response

    text, response = asyncio.run(read())
    assert text == response == whole_reply(name, server, "again")
    assert server.stats().requests == 3  # the cut stream, its retry, the plain call


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_stream_that_stalls_past_the_timeout_raises_the_sdk_timeout_error(server, name):
    sdk = PROVIDERS[name][1]
    kind = PROVIDERS[name][0]
    url = server.openai_base_url if name == "openai" else server.anthropic_base_url
    provider = kind(base_url=url, api_key="k", retry=NO_RETRY, timeout=0.3)
    server.chunk_delay = 1.0
    chunks = []
    with pytest.raises(sdk.APITimeoutError):
        for chunk in provider.stream(name, "m", "slow words here", {}):
            chunks.append(chunk)
