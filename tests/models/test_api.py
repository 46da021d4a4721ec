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
        (
            {"temprature": 0.2},
            r"unknown parameter\(s\) temprature\. Did you mean: "
            r"'temprature' -> 'temperature'\?",
        ),
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


def test_facade_reexports_the_models_layer_objects():
    import ember.models

    assert {"models", "ModelBinding", "RateLimit", "ModelStream", "Response"} <= set(
        api_module.__all__
    )
    for name in api_module.__all__:
        assert getattr(api_module, name) is getattr(ember.models, name), name
    assert api_module.models is default_models


def test_acall_stream_and_astream_agree_with_the_plain_call(api):
    import asyncio

    plain = api("simulated/m", "Same question")
    assert asyncio.run(api.acall("simulated/m", "Same question")) == plain
    stream = api.stream("simulated/m", "Same question")
    assert "".join(stream) == plain and stream.response.usage == plain.usage

    async def read():
        return await api.astream("simulated/m", "Same question").collect()

    assert asyncio.run(read()) == plain


def test_a_10_mb_prompt_error_stays_short(api):
    with pytest.raises(InvalidParamsError) as caught:
        api("simulated/m", b"x" * 10_000_000)
    assert len(str(caught.value)) < 1_000


def test_a_lone_surrogate_is_reported_before_the_sdk(server, api):
    api.register_provider("openai", OpenAIProvider(base_url=server.openai_base_url, api_key="k"))
    with pytest.raises(InvalidParamsError, match="lone surrogate"):
        api("openai/m", "broken \ud83d text")
    assert server.stats().requests == 0


def test_huge_model_ids_are_cut_in_errors(api):
    with pytest.raises(ModelNotFoundError) as caught:
        api("m" * 1_000_000, "hi")
    assert len(str(caught.value)) < 1_000


def test_acall_fails_like_the_plain_call(api):
    import asyncio

    with pytest.raises(ModelNotFoundError):
        asyncio.run(api.acall("mystery-model", "hi"))
    with pytest.raises(ProviderNotFoundError):
        asyncio.run(api.acall("nope/m", "hi"))
    with pytest.raises(InvalidParamsError, match="temprature"):
        asyncio.run(api.acall("simulated/m", "hi", temprature=0))


# -- await models.acall(...) in @jit async def: an op call ---------------------------


def test_awaited_acalls_in_jit_async_def_are_ops_that_overlap(api):
    import asyncio
    import time

    from ember.xcs import explain, get_jit_stats, jit

    async def fan_out(question):
        replies = []
        for index in range(8):
            replies.append(await api.acall(f"simulated/m{index}", question, latency=0.15))
        verdict = await api.acall("simulated/judge", f"pick: {replies[0]}", latency=0.15)
        return replies, verdict, [reply.usage for reply in replies]

    jitted = jit(fan_out)
    started = time.perf_counter()
    plain = asyncio.run(fan_out("q"))
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    assert asyncio.run(jitted("q")) == plain
    jit_seconds = time.perf_counter() - started
    assert plain_seconds > 1.3  # nine calls one after another
    assert jit_seconds < 0.9  # the eight overlap, then the judge: about 0.3 s
    stats = get_jit_stats(jitted)
    assert stats["ops"] == 9 and stats["max_parallelism"] == 8 and stats["traced_calls"] == 1
    assert "0: a=llm[m0], b=llm[m1]" in explain(jitted)


def test_acall_in_jit_async_def_fails_as_the_plain_coroutine_does(api):
    import asyncio

    from ember.models import ProviderError
    from ember.xcs import jit

    async def careful(question):
        pending = api.acall("mystery-model", question)  # raises only when awaited
        try:
            await pending
        except ModelNotFoundError:
            missing = "missing"
        try:
            reply = await api.acall("simulated/m", question, failure_rate=1.0)
        except ProviderError as error:
            reply = type(error).__name__
        first = await api.acall("simulated/m", question)
        return missing, reply, first, await asyncio.gather(api.acall("simulated/n", first))

    assert asyncio.run(jit(careful)("q")) == asyncio.run(careful("q"))


def test_acall_outside_async_code_is_a_plain_coroutine(api):
    import asyncio
    import inspect

    from ember.xcs import get_jit_stats, jit

    pending = api.acall("mystery-model", "hi")  # the error waits for the await
    assert inspect.iscoroutine(pending)
    with pytest.raises(ModelNotFoundError):
        asyncio.run(pending)

    @jit
    def synchronous(question):  # a jitted def: asyncio.run gets a coroutine, as plainly
        return asyncio.run(api.acall("simulated/m", question)) + "!"

    assert synchronous("q") == api("simulated/m", "q") + "!"
    assert get_jit_stats(synchronous)["ops"] == 0


def test_acall_is_a_coroutine_function_to_asyncio_and_inspect():
    import asyncio
    import inspect

    binding = default_models.instance("simulated/demo")
    for method in (default_models.acall, binding.acall):
        assert asyncio.iscoroutinefunction(method)
        if sys.version_info >= (3, 12):  # inspect reads the mark from 3.12 on
            assert inspect.iscoroutinefunction(method)
