"""``model_op``: the op of one model, with the provider's cap, sync body and async twin."""

import asyncio

from ember.models import RateLimit, SimulatedProvider
from ember.models.model_op import model_op
from ember.models.registry import model_op as registry_model_op
from ember.xcs.cache import MemoryStore, use


class Recording(SimulatedProvider):
    """The simulated provider, recording how each call reached it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []
        self.sent = 0

    def complete(self, provider_name, model, prompt, params, *, rate_limits=()):
        self.calls.append(("sync", provider_name, model, prompt, dict(params), rate_limits))
        return super().complete(provider_name, model, prompt, params, rate_limits=rate_limits)

    async def acomplete(self, provider_name, model, prompt, params, *, rate_limits=()):
        self.calls.append(("async", provider_name, model, prompt, dict(params), rate_limits))
        return await super().acomplete(
            provider_name, model, prompt, params, rate_limits=rate_limits
        )

    def send(self, model, messages, params):
        self.sent += 1
        return super().send(model, messages, params)


def test_the_op_carries_the_model_name_and_the_providers_cap():
    call = model_op("sim", SimulatedProvider(max_concurrency=3), "small")
    assert call.name == "llm[small]"
    assert call.max_concurrency == 3
    assert call.limit_key == ("provider", "sim")  # one cap for all the provider's models


def test_a_very_long_model_name_is_shortened_in_the_op_name():
    call = model_op("sim", SimulatedProvider(), "m" * 200)
    assert call.name == "llm[" + "m" * 80 + "... (200 chars in all)]"
    assert call("hi").model_id == "sim/" + "m" * 200  # the call still names the whole model


def test_the_sync_body_and_the_async_twin_pass_the_call_and_the_budgets_on():
    provider = Recording()
    budget = RateLimit(requests_per_minute=6000)
    call = model_op("sim", provider, "small", rate_limits=(budget,))
    assert call("hello", temperature=0).model_id == "sim/small"
    assert call.async_fn is not None
    reply = asyncio.run(call.async_fn("again", temperature=1))
    assert reply.model_id == "sim/small"
    assert provider.calls == [
        ("sync", "sim", "small", "hello", {"temperature": 0}, (budget,)),
        ("async", "sim", "small", "again", {"temperature": 1}, (budget,)),
    ]


def test_by_default_replies_are_cached_exactly_when_a_result_cache_is_on():
    provider = Recording()
    call = model_op("sim", provider, "small")
    call("q", temperature=0)
    call("q", temperature=0)
    assert provider.sent == 2
    with use(MemoryStore()):
        call("q", temperature=0)
        call("q", temperature=0)
    assert provider.sent == 3


def test_cache_false_never_caches_even_when_a_result_cache_is_on():
    provider = Recording()
    call = model_op("sim", provider, "small", cache=False)
    with use(MemoryStore()):
        call("q", temperature=0)
        call("q", temperature=0)
    assert provider.sent == 2


def test_the_provider_name_and_the_model_are_part_of_the_cache_identity():
    provider = Recording()
    with use(MemoryStore()):
        for name, model in [("a", "m"), ("b", "m"), ("a", "n"), ("a", "m")]:
            model_op(name, provider, model)("q", temperature=0)
    assert provider.sent == 3  # only the repeat of a/m was a hit


def test_the_registry_still_offers_model_op_under_its_old_path():
    assert registry_model_op is model_op
