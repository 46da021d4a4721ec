"""``ModelStream`` / ``AsyncModelStream`` as users hold them."""

import asyncio

import pytest

from ember.models import (
    AsyncModelStream,
    Completion,
    InvalidParamsError,
    ModelError,
    ModelsAPI,
    ModelStream,
    Provider,
    ProviderError,
    ProviderRegistry,
    SimulatedProvider,
    Usage,
)
from ember.xcs import jit


class Broken(Provider):
    """Streams two chunks, then loses the connection."""

    closed = False

    def send(self, model, messages, params):
        return Completion("never", Usage())

    def send_stream(self, model, messages, params):
        try:
            yield "one "
            yield "two "
            raise ConnectionResetError("peer went away")
        finally:
            Broken.closed = True


def api_with(**providers):
    registry = ProviderRegistry()
    registry.register("simulated", SimulatedProvider())
    for name, provider in providers.items():
        registry.register(name, provider)
    return ModelsAPI(registry)


def test_response_is_there_only_once_the_stream_has_finished(api):
    stream = api.stream("simulated/m", "one two three four")
    assert isinstance(stream, ModelStream) and not stream.done
    with pytest.raises(ModelError, match="has not finished; iterate it to the end"):
        stream.response
    first = next(stream)
    assert stream.text == first
    rest = stream.collect()
    assert rest == first + "".join(stream.text[len(first) :]) == stream.text
    assert stream.done and list(stream) == []


def test_closing_early_releases_the_connection_and_says_so():
    Broken.closed = False
    api = api_with(broken=Broken())
    with api.stream("broken/m", "hi") as stream:
        assert next(stream) == "one "
    assert Broken.closed and stream.done
    with pytest.raises(ModelError, match="closed before it finished"):
        stream.response


def test_a_failure_mid_stream_is_raised_from_the_iteration():
    api = api_with(broken=Broken())
    stream = api.stream("broken/m", "hi")
    received = []
    with pytest.raises(ConnectionResetError):
        for chunk in stream:
            received.append(chunk)
    assert received == ["one ", "two "]
    with pytest.raises(ModelError, match="the stream failed") as caught:
        stream.response
    assert isinstance(caught.value.__cause__, ConnectionResetError)


def test_a_provider_streaming_something_else_is_named():
    class Wrong(Broken):
        def send_stream(self, model, messages, params):
            yield 42

    with pytest.raises(ProviderError, match=r"wrong/m: Wrong streamed 42"):
        list(api_with(wrong=Wrong()).stream("wrong/m", "hi"))


def test_bad_arguments_fail_when_the_stream_is_made(api):
    with pytest.raises(ValueError, match="did you mean|Did you mean"):
        api.stream("simulated/m", "hi", temprature=0.1)


def test_async_stream_as_users_write_it(api):
    async def read():
        chunks = []
        async with api.astream("simulated/m", "stream this text") as stream:
            assert isinstance(stream, AsyncModelStream)
            async for chunk in stream:
                chunks.append(chunk)
        return chunks, stream

    chunks, stream = asyncio.run(read())
    assert "".join(chunks) == stream.response == api("simulated/m", "stream this text")
    assert "finished" in repr(stream)


def test_async_collect_and_early_close(api):
    async def main():
        whole = await api.astream("simulated/m", "collect me").collect()
        partial = api.astream("simulated/m", "a b c d")
        await partial.__anext__()
        await partial.aclose()
        return whole, partial

    whole, partial = asyncio.run(main())
    assert whole == api("simulated/m", "collect me")
    with pytest.raises(ModelError, match="closed"):
        partial.response


def test_under_jit_a_stream_runs_in_the_glue_and_matches_plain_python(api):
    def pipeline(question):
        draft = api("simulated/drafter", question)
        stream = api.stream("simulated/editor", f"Improve: {draft}")
        pieces = [piece.upper() for piece in stream]
        return "".join(pieces), stream.response.usage

    assert jit(pipeline)("What is XCS?") == pipeline("What is XCS?")


# --- the facade: models.stream with the SDK providers, against the loopback server ---


@pytest.fixture
def sdk_models(server, monkeypatch):
    """``models`` with the built-in OpenAI and Anthropic providers, configured the way a
    user does it (environment variables), pointed at the loopback server."""
    from ember.models import AnthropicProvider, OpenAIProvider

    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "loopback-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "loopback-key")
    registry = ProviderRegistry()
    registry.register("openai", OpenAIProvider, model_prefixes=["gpt-"])
    registry.register("anthropic", AnthropicProvider, model_prefixes=["claude-"])
    return ModelsAPI(registry)


@pytest.mark.parametrize("model_id", ["openai/gpt-4o", "anthropic/claude-x", "gpt-4o-mini"])
def test_models_stream_with_an_sdk_provider_yields_chunks_then_the_response(
    sdk_models, server, model_id
):
    prompt = "tell me about tidal power in a few words"
    whole = sdk_models(model_id, prompt, max_tokens=50)
    server.reset()
    with sdk_models.stream(model_id, prompt, max_tokens=50) as stream:
        chunks = list(stream)
    assert len(chunks) > 2 and all(type(chunk) is str for chunk in chunks)
    assert "".join(chunks) == stream.response == whole
    assert not stream.response.simulated and stream.response.model_id == whole.model_id
    assert stream.response.usage == whole.usage == server.stats().usage
    assert (server.stats().streamed, server.stats().requests) == (1, 1)


@pytest.mark.parametrize("model_id", ["openai/gpt-4o", "anthropic/claude-x"])
def test_models_astream_with_an_sdk_provider(sdk_models, server, model_id):
    async def read():
        async with sdk_models.astream(model_id, "stream this reply please") as stream:
            chunks = [chunk async for chunk in stream]
        return chunks, stream.response

    chunks, response = asyncio.run(read())
    assert len(chunks) > 1
    model = model_id.split("/")[1]
    assert "".join(chunks) == response == f"[loopback {model}] stream this reply please"
    assert response.usage.total_tokens > 0 and server.stats().streamed == 1


def test_a_stream_of_an_sdk_provider_under_jit_matches_plain_python(sdk_models, server):
    def pipeline(question):
        draft = sdk_models("openai/gpt-4o", question)
        stream = sdk_models.stream("anthropic/claude-x", f"Improve: {draft}")
        return [chunk.upper() for chunk in stream], stream.response.usage

    plain = pipeline("What is XCS?")
    assert jit(pipeline)("What is XCS?") == plain
    assert server.stats().streamed == 2


@pytest.mark.parametrize("value", [True, False])
def test_stream_as_a_parameter_says_to_use_models_stream(sdk_models, api, value):
    calls = [
        lambda: api("simulated/m", "hi", stream=value),
        lambda: jit(lambda: api("simulated/m", "hi", stream=value))(),
        lambda: api.instance("simulated/m")("hi", stream=value),
        lambda: asyncio.run(api.acall("simulated/m", "hi", stream=value)),
        lambda: sdk_models("openai/gpt-4o", "hi", stream=value),
        lambda: sdk_models("anthropic/claude-x", "hi", stream=value),
    ]
    for call in calls:
        with pytest.raises(InvalidParamsError) as caught:
            call()
        message = str(caught.value)
        assert "models.stream(" in message and "stream= is not a parameter" in message
        assert len(message) < 400
