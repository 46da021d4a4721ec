"""The openai provider through the real ``openai`` client against the loopback server."""

import openai
import pytest

from ember.models import ModelsAPI, OpenAIProvider, ProviderRegistry, RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


def provider_for(server, **kwargs):
    return OpenAIProvider(base_url=server.openai_base_url, api_key="EMPTY", **kwargs)


def test_completion_text_and_usage_come_from_the_server(server):
    reply = provider_for(server).complete("openai", "gpt-4o", "hello there", {"temperature": 0})
    assert reply.text == "[loopback gpt-4o] hello there"
    assert not reply.simulated and reply.model_id == "openai/gpt-4o"
    assert reply.usage == server.stats().usage
    assert server.stats().requests == 1


def test_system_and_messages_reach_the_server(server):
    messages = [{"role": "user", "content": "first"}, {"role": "user", "content": "last one"}]
    reply = provider_for(server).complete("openai", "m", messages, {"system": "be brief"})
    assert reply.text == "[loopback m] last one"
    assert reply.usage.prompt_tokens == 6  # "be brief\nfirst\nlast one" is 23 chars


def test_base_url_from_environment(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert OpenAIProvider().complete("openai", "m", "x", {}).startswith("[loopback m]")


def test_429s_are_retried_within_the_policy(server):
    server.rate_limit_first = 2
    reply = provider_for(server, retry=FAST_RETRY).complete("openai", "m", "storm", {})
    assert reply.text == "[loopback m] storm"
    stats = server.stats()
    assert (stats.requests, stats.rate_limited, stats.succeeded) == (3, 2, 1)


def test_persistent_500_raises_the_sdk_type_after_the_retries(server):
    server.error_status = 500
    with pytest.raises(openai.InternalServerError) as caught:
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "boom", {})
    assert server.stats().requests == 3
    assert "openai/m: gave up after 3 attempts" in caught.value.__notes__[0]


def test_client_errors_are_not_retried(server):
    server.error_status = 404
    with pytest.raises(openai.NotFoundError):
        provider_for(server, retry=FAST_RETRY).complete("openai", "m", "x", {})
    assert server.stats().requests == 1


def test_connection_errors_are_retried_then_raised():
    with pytest.raises(openai.APIConnectionError):
        OpenAIProvider(
            base_url="http://127.0.0.1:9/v1",
            api_key="k",
            retry=RetryPolicy(max_attempts=2, initial_delay=0),
        ).complete("openai", "m", "x", {})


def test_reasoning_models_get_max_completion_tokens(server, monkeypatch):
    provider = provider_for(server)
    sent = {}
    client = provider.client()
    original = client.chat.completions.create

    def spy(**kwargs):
        sent.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(client.chat.completions, "create", spy)
    provider.complete("openai", "o1-mini", "x", {"max_tokens": 5})
    assert sent["max_completion_tokens"] == 5 and "max_tokens" not in sent


def test_models_api_uses_the_registered_openai_provider(server):
    registry = ProviderRegistry()
    registry.register("openai", provider_for(server), model_prefixes=["gpt-"])
    reply = ModelsAPI(registry)("gpt-4o-mini", "hi")
    assert reply.text == "[loopback gpt-4o-mini] hi"
