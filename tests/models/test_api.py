import importlib
import sys

import pytest

from ember.api.models import models as default_models
from ember.models import (
    InvalidParamsError,
    MissingAPIKeyError,
    MissingDependencyError,
    ModelNotFoundError,
    OpenAIProvider,
    ProviderNotFoundError,
    Response,
    SimulatedProvider,
)

# `from ember.api import models` is the callable facade (pyember); this is the module.
api_module = importlib.import_module("ember.api.models")


def test_call_returns_labelled_response(api):
    reply = api("simulated/demo", "What is XCS?")
    assert isinstance(reply, Response) and isinstance(reply, str)
    assert reply.startswith("[simulated]") and reply.simulated
    assert reply.model_id == "simulated/demo" and reply.provider == "simulated"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0


def test_instance_is_reusable(api):
    judge = api.instance("simulated/judge", temperature=0)
    assert judge("q") == judge("q") == api("simulated/judge", "q", temperature=0)


def test_list_and_providers(api):
    assert api.providers() == ["simulated"]
    assert api.list() == ["simulated/<any-name>"]
    assert "openai/gpt-4o" in default_models.list()


def test_register_provider_adds_a_name(api):
    api.register_provider("fast", SimulatedProvider(), model_prefixes=["fast-"])
    assert api("fast-1", "hi").model_id == "fast/fast-1"


def test_unknown_model_id(api):
    with pytest.raises(ModelNotFoundError, match="'nonexistent'.*simulated"):
        api("nonexistent", "hi")


def test_unknown_provider(api):
    with pytest.raises(ProviderNotFoundError, match="'acme'.*registered providers: simulated"):
        api("acme/model", "hi")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"temperature": -1}, r"temperature=-1 is invalid"),
        ({"max_tokens": -5}, r"max_tokens=-5 is invalid"),
        ({"temprature": 0.2}, r"unknown parameter\(s\) temprature"),
    ],
)
def test_bad_params(api, params, match):
    with pytest.raises(InvalidParamsError, match=match):
        api("simulated/m", "hi", **params)


def test_missing_api_key_names_the_variable(api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    api.register_provider("openai", OpenAIProvider(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        api("openai/gpt-4o", "hi")


def test_missing_anthropic_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    from ember.models import AnthropicProvider, ModelsAPI, ProviderRegistry

    registry = ProviderRegistry()
    registry.register("anthropic", AnthropicProvider, model_prefixes=["claude-"])
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        ModelsAPI(registry)("claude-sonnet-4-5", "hi")


def test_missing_sdk_names_the_extra(api, monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    api.register_provider("openai", OpenAIProvider(api_key="k"))
    with pytest.raises(MissingDependencyError, match=r"pip install 'ember-xcs\[openai\]'"):
        api("openai/gpt-4o", "hi")


def test_facade_exports_are_importable():
    for name in api_module.__all__:
        assert getattr(api_module, name) is not None
