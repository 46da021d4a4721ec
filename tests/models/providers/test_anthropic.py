"""The anthropic provider through the real ``anthropic`` client against the loopback server."""

import asyncio
import json
import time

import anthropic
import pytest

from ember.models import AnthropicProvider, InvalidParamsError, MalformedResponseError, RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


def provider_for(server, **kwargs):
    return AnthropicProvider(base_url=server.anthropic_base_url, api_key="k", **kwargs)


def test_messages_format_round_trip(server):
    reply = provider_for(server).complete("anthropic", "claude-x", "hi there", {"max_tokens": 50})
    assert reply.text == "[loopback claude-x] hi there"
    assert reply.model_id == "anthropic/claude-x" and not reply.simulated
    assert reply.usage == server.stats().usage


def test_system_messages_become_the_system_prompt(server):
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "question"}]
    reply = provider_for(server).complete("anthropic", "c", messages, {"stop": "\n"})
    assert reply.text == "[loopback c] question"
    assert reply.usage.prompt_tokens == 3  # "sys\nquestion" (12 chars); "question" alone is 2


def test_base_url_from_environment(server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    assert AnthropicProvider().complete("anthropic", "c", "x", {}).startswith("[loopback c]")


def test_429_storm_then_success(server):
    server.rate_limit_first = 2
    assert (
        provider_for(server, retry=FAST_RETRY).complete("anthropic", "c", "s", {})
        == "[loopback c] s"
    )
    assert server.stats().requests == 3


def test_persistent_500_raises_the_sdk_type(server):
    server.error_status = 500
    with pytest.raises(anthropic.InternalServerError):
        provider_for(server, retry=FAST_RETRY).complete("anthropic", "c", "x", {})
    assert server.stats().requests == 3


def test_temperature_bound_is_one():
    with pytest.raises(InvalidParamsError, match=r"\[0, 1\]"):
        AnthropicProvider(api_key="k").validate("anthropic/c", {"temperature": 1.5})


def gaps(server):
    arrivals = server.stats().arrivals
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]


@pytest.mark.parametrize("status", [429, 503, 529])
def test_retry_after_is_honoured(server, status):
    server.error_status, server.retry_after = status, 1
    provider = provider_for(server, retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    with pytest.raises(anthropic.APIStatusError):
        provider.complete("anthropic", "c", "wait", {})
    (gap,) = gaps(server)
    assert 1.0 <= gap < 2.5, gap


def test_retry_after_ms_on_the_async_path(server):
    server.rate_limit_first, server.retry_after_ms = 1, 400
    reply = asyncio.run(provider_for(server).acomplete("anthropic", "c", "ms", {}))
    assert reply.text == "[loopback c] ms"
    (gap,) = gaps(server)
    assert 0.4 <= gap < 1.5, gap


@pytest.mark.parametrize("body", [b"{}", b'{"content": null}', b'"just a string"'])
def test_a_200_without_content_is_a_clear_error(server, body):
    server.reply_body = body
    with pytest.raises(MalformedResponseError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("anthropic", "claude-x", "x", {})
    assert str(caught.value).startswith("anthropic/claude-x: ")
    assert "no 'content'" in str(caught.value)
    assert server.stats().requests == 1


def test_malformed_json_is_explained_on_both_paths(server):
    server.reply_body = b"not json at all"
    provider = provider_for(server, retry=FAST_RETRY)
    with pytest.raises(MalformedResponseError, match="anthropic/c: .*not valid JSON"):
        provider.complete("anthropic", "c", "x", {})
    with pytest.raises(MalformedResponseError, match="anthropic/c: .*not valid JSON"):
        asyncio.run(provider.acomplete("anthropic", "c", "x", {}))
    assert server.stats().requests == 2


def test_a_reply_without_text_blocks_is_an_empty_completion(server):
    # As an OpenAI reply whose content is "" (docs/models.md, "Malformed replies").
    server.reply_body = json.dumps({
        "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 0},
    }).encode()
    reply = provider_for(server).complete("anthropic", "c", "x", {})
    assert reply == "" and reply.usage.prompt_tokens == 1


def test_a_silent_server_times_out(server):
    server.never_answer = True
    start = time.perf_counter()
    with pytest.raises(anthropic.APITimeoutError):
        provider_for(server, timeout=0.5).complete("anthropic", "c", "x", {})
    assert 0.5 <= time.perf_counter() - start < 2.0
    assert server.stats().requests == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": -5}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"base_url": "claude.example"}, "base_url"),
        ({"api_key": 0}, "api_key"),
        ({"max_concurrency": True}, "max_concurrency"),
    ],
)
def test_bad_settings_fail_at_once_naming_the_field(kwargs, field):
    with pytest.raises(InvalidParamsError, match=rf"AnthropicProvider\({field}=\.\.\.\)"):
        AnthropicProvider(**kwargs)


def test_async_clients_are_per_loop_and_of_the_async_class(server):
    provider = provider_for(server)

    async def client():
        await provider.acomplete("anthropic", "c", "x", {})
        return provider.async_client()

    first, second = asyncio.run(client()), asyncio.run(client())
    assert isinstance(first, anthropic.AsyncAnthropic) and first is not second


def test_stream_yields_chunks_then_the_full_response(server):
    provider = provider_for(server)
    plain = provider.complete("anthropic", "c", "a longer question here", {"max_tokens": 50})
    server.reset()
    stream = provider.stream("anthropic", "c", "a longer question here", {"max_tokens": 50})
    chunks = list(stream)
    assert len(chunks) > 2
    assert "".join(chunks) == stream.response == plain
    assert stream.response.usage == plain.usage == server.stats().usage
    assert server.stats().streamed == 1


def test_astream_yields_the_same(server):
    provider = provider_for(server)

    async def read():
        async with provider.astream("anthropic", "c", "stream this", {}) as stream:
            chunks = [chunk async for chunk in stream]
        return chunks, stream.response

    chunks, response = asyncio.run(read())
    assert "".join(chunks) == response == "[loopback c] stream this"
    assert response.usage == provider.complete("anthropic", "c", "stream this", {}).usage


def test_a_stream_without_message_start_is_a_clear_error(server):
    server.reply_body = b'event: message_stop\ndata: {"type": "message_stop"}\n\n'
    with pytest.raises(MalformedResponseError, match="anthropic/c: .*message_start"):
        provider_for(server).stream("anthropic", "c", "x", {}).collect()


def bodies_sent(server):
    """The JSON bodies the server receives, in order."""
    received, handle = [], server._handle

    def recording(path, body):
        received.append(json.loads(body))
        return handle(path, body)

    server._handle = recording
    return received


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_sampling_parameters_reach_the_server_whichever_sdk_names_them(server, streamed):
    # anthropic 2.x's messages.create no longer names temperature, top_p and top_k:
    # passed as keywords they raised TypeError("Messages.create() got an unexpected
    # keyword argument 'temperature'"), "AsyncMessages.create()" on an event loop.
    received = bodies_sent(server)
    provider = provider_for(server)
    params = {"temperature": 0.2, "top_p": 0.9, "top_k": 5}
    if streamed:
        reply = "".join(provider.stream("anthropic", "c", "hello", params))
    else:
        reply = provider.complete("anthropic", "c", "hello", params)
    assert reply == "[loopback c] hello"
    again = asyncio.run(provider.acomplete("anthropic", "c", "hello", params))
    assert again == reply
    assert [{name: body.get(name) for name in params} for body in received] == [params] * 2
