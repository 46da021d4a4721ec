"""``OllamaProvider``: the openai provider at Ollama's address, keyless, with notes
that say how to fix a missing server or model. Requests go to the loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from ember.models import InvalidParamsError, OllamaProvider, RetryPolicy
from ember.testing.loopback import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def test_ollama_defaults_to_the_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    provider = OllamaProvider()
    assert provider.base_url == "http://localhost:11434/v1"
    assert provider.client().api_key == "ollama"  # a placeholder: Ollama takes no key
    monkeypatch.setenv("OLLAMA_API_KEY", "proxy-key")
    assert OllamaProvider().client().api_key == "proxy-key"
    with pytest.raises(InvalidParamsError, match="base_url"):
        OllamaProvider(base_url="localhost:11434")


def test_ollama_says_how_to_start_the_server_when_none_answers() -> None:
    with LoopbackServer() as gone:
        address = gone.openai_base_url
    provider = OllamaProvider(base_url=address, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(openai.APIConnectionError) as caught:
        provider.complete("ollama", "llama3.2:1b", "hello", {})
    notes = "\n".join(caught.value.__notes__)
    assert "ollama/llama3.2:1b" in notes and "ollama serve" in notes and address in notes


def test_ollama_says_how_to_pull_a_missing_model(server: LoopbackServer) -> None:
    server.error_status = 404
    provider = OllamaProvider(base_url=server.openai_base_url)
    with pytest.raises(openai.NotFoundError) as caught:
        provider.complete("ollama", "mistral", "hello", {})
    assert "ollama pull" in "\n".join(caught.value.__notes__)
    assert server.stats().requests == 1  # a missing model is not retried
