"""pyember's models API on ours: ``models.response``, ``with_metadata``, ``list``,
``discover``, ``Response.metadata``, ``Models`` and the ``ollama/`` provider.

Real SDK clients talk to the loopback server of ``ember.testing`` (127.0.0.1 only);
nothing here reaches the network.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import ember.api
from ember.api import Models, models
from ember.api.models import (
    InvalidParamsError,
    ModelInvocation,
    OllamaProvider,
    ProviderNotFoundError,
    Response,
    SimulatedProvider,
    Usage,
)
from ember.models import ModelsAPI, ProviderRegistry
from ember.models.registry import default_registry
from ember.models.response import _rebuild_response
from ember.testing.loopback import LoopbackServer
from ember.xcs import jit


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def local_api(server: LoopbackServer) -> ModelsAPI:
    """A models API whose ``ollama`` provider is the loopback server."""
    registry = ProviderRegistry()
    registry.register("ollama", OllamaProvider(base_url=server.openai_base_url))
    registry.register("simulated", SimulatedProvider())
    return ModelsAPI(registry)


# --- models.response and Response.metadata -------------------------------------------


def test_response_returns_the_structured_reply_of_the_same_call() -> None:
    reply = models.response("simulated/demo", "What is 2 + 2?", temperature=0)
    assert isinstance(reply, Response)
    assert reply == models("simulated/demo", "What is 2 + 2?", temperature=0)
    assert reply.text == str(reply) and type(reply.text) is str
    assert reply.model_id == "simulated/demo"
    assert reply.usage["total_tokens"] == reply.usage.total_tokens > 0
    assert reply.usage["prompt_tokens"] + reply.usage["completion_tokens"] == (
        reply.usage["total_tokens"]
    )


def test_usage_names_its_counts_when_a_key_is_wrong() -> None:
    with pytest.raises(KeyError, match="prompt_tokens, completion_tokens and total_tokens"):
        Usage.of(1, 2)["cost"]


def test_metadata_holds_the_measured_latency_and_arrival_time() -> None:
    api = ModelsAPI(ProviderRegistry())
    api.register_provider("slow", SimulatedProvider(latency=0.05))
    before = datetime.now(UTC)
    started = time.perf_counter()
    reply = api.response("slow/m", "hello")
    waited_ms = (time.perf_counter() - started) * 1000
    after = datetime.now(UTC)

    assert 50 <= reply.latency_ms <= waited_ms
    assert reply.created_at is not None and before <= reply.created_at <= after
    assert reply.metadata == {
        "model_id": "slow/m",
        "provider": "slow",
        "simulated": True,
        "created_at": reply.created_at.isoformat(),
        "latency_ms": reply.latency_ms,
    }
    reply.metadata["model_id"] = "changed"  # a fresh dict each time
    assert reply.metadata["model_id"] == "slow/m"


def test_metadata_leaves_out_facts_that_were_not_recorded() -> None:
    reply = Response("hi", model_id="p/m", provider="p", usage=Usage.of(1, 1))
    assert reply.latency_ms is None and reply.created_at is None
    assert reply.metadata == {"model_id": "p/m", "provider": "p", "simulated": False}


def test_response_facts_survive_pickling_and_old_pickles_still_load() -> None:
    reply = models.response("simulated/demo", "hi")
    copy = pickle.loads(pickle.dumps(reply))
    assert copy == reply and copy.metadata == reply.metadata
    old = _rebuild_response("hi", "p/m", "p", Usage.of(1, 1), False)  # five-argument form
    assert old.latency_ms is None and old.metadata["model_id"] == "p/m"


def test_response_facts_cannot_be_changed() -> None:
    reply = models.response("simulated/demo", "hi")
    with pytest.raises(AttributeError, match="immutable"):
        reply.latency_ms = 0.0  # type: ignore[misc]


# --- models.with_metadata -------------------------------------------------------------


def test_with_metadata_gives_the_text_beside_the_response() -> None:
    result = models.with_metadata("simulated/demo", "Name a colour", temperature=0)
    assert isinstance(result, ModelInvocation)
    assert result.text == models("simulated/demo", "Name a colour", temperature=0)
    assert type(result.text) is str
    assert result.response.text == result.text
    assert result.usage == result.response.usage
    assert result.model_id == "simulated/demo"
    assert result.latency_ms == result.response.latency_ms is not None
    assert result.metadata == result.response.metadata
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "other"  # type: ignore[misc]


def test_binding_has_response_and_with_metadata_with_its_defaults() -> None:
    terse = models.instance("simulated/demo", max_tokens=3)
    assert terse.response("Say a lot") == models("simulated/demo", "Say a lot", max_tokens=3)
    result = terse.with_metadata("Say a lot")
    assert result.text == terse("Say a lot") and result.model_id == "simulated/demo"


def test_pyember_models_module_names_and_binding_params() -> None:
    """pyember's ``ember.api.models`` exported ``ProviderAPIError`` beside ``ModelError``
    and ``ModelNotFoundError``, and its ``ModelBinding`` kept the bound parameters as
    ``.params``: the import failed and the attribute was missing."""
    from ember.api.exceptions import ProviderAPIError as from_exceptions
    from ember.api.models import ModelError, ProviderAPIError, ProviderError

    assert ProviderAPIError is ProviderError is from_exceptions
    assert issubclass(ProviderAPIError, ModelError)
    creative = models.instance("simulated/demo", temperature=0.9)
    assert dict(creative.params) == {"temperature": 0.9} == dict(creative.defaults)
    with pytest.raises(TypeError):
        creative.params["temperature"] = 0.1  # type: ignore[index]


def test_an_unknown_provider_is_a_model_not_found_as_in_pyember() -> None:
    """pyember raised ``ModelNotFoundError`` for an id whose provider is unknown, and its
    examples fall back with ``except ModelNotFoundError:``; ours raised a sibling type
    that such a fallback let through."""
    from ember.api.exceptions import ModelNotFoundError
    from ember.xcs import jit

    def answer(prompt):
        try:
            return models("mistral/large", prompt)
        except ModelNotFoundError as error:
            return f"fallback after {type(error).__name__}"

    assert answer("hi") == jit(answer)("hi") == "fallback after ProviderNotFoundError"
    with pytest.raises(ModelNotFoundError, match="'mistral'"):
        models.list(provider="mistral")


def test_bad_input_is_reported_as_for_a_plain_call() -> None:
    with pytest.raises(ProviderNotFoundError, match="'nope'"):
        models.with_metadata("nope/m", "hi")
    with pytest.raises(InvalidParamsError, match="temprature"):
        models.response("simulated/demo", "hi", temprature=0.5)


def test_under_jit_the_calls_run_concurrently_and_equal_plain_python(
    server: LoopbackServer, local_api: ModelsAPI
) -> None:
    server.latency = 0.3

    def ask(question: str) -> tuple[str, str, str]:
        first = local_api.with_metadata("ollama/llama3.2:1b", question)
        second = local_api.response("ollama/llama3.1:8b", question)
        return first.text, first.metadata["model_id"], second.text.upper()

    plain = ask("hello there")
    assert server.stats().max_in_flight == 1  # plain Python: one after the other
    server.reset()
    assert jit(ask)("hello there") == plain == (
        "[loopback llama3.2:1b] hello there",
        "ollama/llama3.2:1b",
        "[LOOPBACK LLAMA3.1:8B] HELLO THERE",
    )
    assert server.stats().max_in_flight == 2  # both requests were open at once


# --- models.list(provider) and models.discover(provider) ------------------------------


def test_list_filters_by_provider() -> None:
    assert models.list("openai") == [m for m in models.list() if m.startswith("openai/")]
    assert models.list("openai") and models.list(provider="anthropic")
    assert "ollama/llama3.2:1b" in models.list("ollama")
    assert sorted(models.list()) == sorted(
        model for name in models.providers() for model in models.list(name)
    )


def test_list_rejects_an_unknown_or_malformed_provider() -> None:
    with pytest.raises(ProviderNotFoundError, match=r"'opnai'.*anthropic, ollama, openai"):
        models.list("opnai")
    with pytest.raises(InvalidParamsError, match="provider name"):
        models.list(3)  # type: ignore[arg-type]


def test_discover_describes_each_listed_model_without_a_request(
    server: LoopbackServer,
) -> None:
    api = ModelsAPI(ProviderRegistry())
    api.register_provider("ollama", OllamaProvider(base_url=server.openai_base_url))
    api.register_provider("simulated", SimulatedProvider(max_concurrency=3))
    found = api.discover()
    assert list(found) == api.list()
    assert found["ollama/llama3.1:8b"] == {
        "provider": "ollama",
        "model": "llama3.1:8b",
        "simulated": False,
        "parameters": sorted(OllamaProvider.accepted_params),
        "max_concurrency": None,
        "base_url": server.openai_base_url,
    }
    assert found["simulated/<any-name>"]["simulated"] is True
    assert found["simulated/<any-name>"]["max_concurrency"] == 3
    assert list(api.discover("simulated")) == ["simulated/<any-name>"]
    assert server.stats().requests == 0
    with pytest.raises(ProviderNotFoundError, match="'nope'"):
        api.discover("nope")


# --- Models -------------------------------------------------------------------------


def test_models_constants_are_the_canonical_ids_calls_accept() -> None:
    assert "Models" in ember.api.__all__
    assert Models.GPT_4O == "openai/gpt-4o"
    assert Models.GPT_4_1_MINI == "openai/gpt-4.1-mini"
    assert Models.LLAMA3_2_1B == "ollama/llama3.2:1b"
    assert {"GPT_4O", "CLAUDE_SONNET_4_5", "LLAMA3_1_8B"} <= set(dir(Models))
    assert models.instance(Models.LLAMA3_1_8B).model_id == Models.LLAMA3_1_8B
    from ember.models.catalog import _PYEMBER_CONSTANTS

    every = {getattr(Models, name) for name in dir(Models) if name.isupper()}
    listed = {m for m in models.list() if not m.endswith(">")}
    assert listed <= every
    assert every - listed <= set(_PYEMBER_CONSTANTS.values())  # pyember's names (below)


def test_pyembers_model_constants_name_models_of_the_registered_providers() -> None:
    """pyember's `Models.GPT_4`, `Models.CLAUDE_3_OPUS`... (its catalogue's stable
    models) read as our `provider/model` ids; its Gemini ones need a `google` provider,
    which is not registered, so they say so as any unknown constant does."""
    assert Models.GPT_4 == "openai/gpt-4"
    assert Models.GPT_4_TURBO == "openai/gpt-4-turbo"
    assert Models.GPT_3_5_TURBO == "openai/gpt-3.5-turbo"
    assert Models.CLAUDE_3_OPUS == "anthropic/claude-3-opus"
    assert Models.CLAUDE_3_5_SONNET_LATEST == "anthropic/claude-3-5-sonnet-latest"
    assert {"GPT_4", "CLAUDE_3_HAIKU"} <= set(dir(Models))
    assert models.instance(Models.GPT_4).model_id == "openai/gpt-4"
    with pytest.raises(AttributeError, match="has no constant 'GEMINI_2_5_PRO'"):
        Models.GEMINI_2_5_PRO  # noqa: B018 - the lookup is the test


def test_models_is_read_only_and_names_close_constants() -> None:
    with pytest.raises(AttributeError, match="read-only"):
        Models.GPT_4O = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del Models.GPT_4O
    with pytest.raises(AttributeError, match="Did you mean: GPT_4O"):
        Models.GPT4O  # noqa: B018 - the lookup is the test


# --- the ollama provider ---------------------------------------------------------------


def test_ollama_is_registered_and_needs_no_key(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_registry().resolve("ollama/llama3.2:1b") == ("ollama", "llama3.2:1b")
    assert isinstance(default_registry().provider("ollama"), OllamaProvider)
    for variable in ("OPENAI_API_KEY", "OLLAMA_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OLLAMA_BASE_URL", server.openai_base_url)
    registry = ProviderRegistry()
    registry.register("ollama", OllamaProvider)  # made on first use, from the environment
    api = ModelsAPI(registry)
    reply = api("ollama/qwen2.5:0.5b", "hello", temperature=0.2, max_tokens=5)
    assert reply == "[loopback qwen2.5:0.5b] hello"
    assert reply.model_id == "ollama/qwen2.5:0.5b" and reply.simulated is False
    assert reply.usage == server.stats().usage and reply.usage.total_tokens > 0
    assert "".join(api.stream("ollama/qwen2.5:0.5b", "hello")) == reply


def test_discover_says_which_catalogue_facts_it_has_not() -> None:
    """pyember's README prints ``details['description']`` and ``details['context_window']``
    of ``models.discover()``; Ember keeps no catalogue (docs/compat.md), and the bare
    ``KeyError: 'description'`` did not say so."""
    facts = models.discover("ollama")["ollama/llama3.2:1b"]
    assert facts == dict(facts) and facts["provider"] == "ollama"
    assert facts.get("description") is None
    with pytest.raises(KeyError, match="no 'context_window': Ember keeps no model catalogue"):
        facts["context_window"]  # noqa: B018
