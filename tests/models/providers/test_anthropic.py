"""The anthropic provider through the real ``anthropic`` client against the loopback server."""

import anthropic
import pytest

from ember.models import AnthropicProvider, InvalidParamsError, RetryPolicy

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
