import pytest

from ember.models import InvalidParamsError, ModelBinding, ModelNotFoundError


def test_binding_applies_defaults_and_call_params_win(registry):
    terse = ModelBinding("simulated/m", registry=registry, max_tokens=1)
    assert terse.model_id == "simulated/m"
    assert terse("hello") == "[simulated] " + terse("hello").text[len("[simulated] ") :]
    assert len(terse("a question").text) <= len("[simulated] ") + 4
    long_reply = terse("a question", max_tokens=100)
    assert len(long_reply.text) >= len(terse("a question").text)


def test_binding_checks_id_and_defaults_eagerly(registry):
    with pytest.raises(ModelNotFoundError):
        ModelBinding("mystery", registry=registry)
    with pytest.raises(InvalidParamsError, match="temperature"):
        ModelBinding("simulated/m", registry=registry, temperature=9)


def test_binding_repr_shows_settings(registry):
    assert repr(ModelBinding("simulated/m", registry=registry, temperature=0)) == (
        "ModelBinding('simulated/m', temperature=0)"
    )


def test_binding_acall_and_streams_use_the_defaults(registry):
    import asyncio

    terse = ModelBinding("simulated/m", registry=registry, max_tokens=1)
    plain = terse("a question")
    assert asyncio.run(terse.acall("a question")) == plain
    assert terse.stream("a question").collect() == plain

    async def read():
        return await terse.astream("a question").collect()

    assert asyncio.run(read()) == plain


def test_binding_rate_limit_is_checked_and_shown(registry):
    from ember.models import RateLimit

    with pytest.raises(InvalidParamsError, match=r"ModelBinding\(rate_limit=\.\.\.\)"):
        ModelBinding("simulated/m", registry=registry, rate_limit=60)
    limited = ModelBinding(
        "simulated/m", registry=registry, rate_limit=RateLimit(requests_per_minute=600)
    )
    assert repr(limited) == (
        "ModelBinding('simulated/m', rate_limit=RateLimit(requests_per_minute=600.0, "
        "tokens_per_minute=None))"
    )
    assert limited("hi") == ModelBinding("simulated/m", registry=registry)("hi")


def test_a_rate_limited_binding_follows_a_replaced_provider(registry):
    from ember.models import RateLimit, SimulatedProvider

    limited = ModelBinding(
        "simulated/m", registry=registry, rate_limit=RateLimit(requests_per_minute=6000)
    )
    assert limited("hi").provider == "simulated"
    registry.register("simulated", SimulatedProvider(failure_rate=1.0))
    from ember.models import SimulatedFailure

    with pytest.raises(SimulatedFailure):
        limited("hi")


def test_binding_cache_setting_overrides_the_default(registry):
    import asyncio

    from ember.models import Completion, Provider, Usage
    from ember.xcs.cache import MemoryStore, use

    class Clock(Provider):
        """Replies with a counter: a cache hit shows as a repeated number."""

        count = 0

        def send(self, model, messages, params):
            Clock.count += 1
            return Completion(str(Clock.count), Usage.of(1, 1))

    registry.register("clock", Clock())
    always = ModelBinding("clock/m", registry=registry, cache=MemoryStore())
    never = ModelBinding("clock/m", registry=registry, cache=False)
    assert always("q") == always("q") == asyncio.run(always.acall("q"))
    with use(MemoryStore()):
        assert never("q") != never("q")
    assert "cache=False" in repr(never)
    from ember.xcs import ConfigError

    with pytest.raises(ConfigError, match="cache"):
        ModelBinding("clock/m", registry=registry, cache=42)


def test_a_plain_binding_follows_a_replaced_provider(registry):
    from ember.models import SimulatedFailure, SimulatedProvider

    binding = ModelBinding("simulated/m", registry=registry)
    assert binding("hi").provider == "simulated"
    registry.register("simulated", SimulatedProvider(failure_rate=1.0))
    with pytest.raises(SimulatedFailure):
        binding("hi")


def test_call_params_win_over_defaults_on_every_path(registry):
    import asyncio

    from ember.models import SimulatedFailure

    binding = ModelBinding("simulated/m", registry=registry, max_tokens=1, failure_rate=1.0)
    with pytest.raises(SimulatedFailure):
        binding("a question")
    quick = {"failure_rate": 0.0}  # a call's own parameter wins: no failure
    short = binding("a question", **quick)
    assert len(short.text) <= len("[simulated] ") + 4
    longer = binding("a question", max_tokens=100, **quick)
    assert longer == ModelBinding("simulated/m", registry=registry)("a question", max_tokens=100)
    assert asyncio.run(binding.acall("a question", max_tokens=100, **quick)) == longer
    assert binding.stream("a question", max_tokens=100, **quick).collect() == longer


def test_binding_acall_in_jit_async_def_is_an_op_call(registry):
    import asyncio
    import time

    from ember.models import RateLimit
    from ember.xcs import get_jit_stats, jit

    slow = ModelBinding("simulated/m", registry=registry, latency=0.3, max_tokens=3)
    budgeted = ModelBinding("simulated/n", registry=registry, latency=0.3,
                            rate_limit=RateLimit(requests_per_minute=6000))

    async def both(question):
        first = await slow.acall(question)
        second = await budgeted.acall(question, max_tokens=2)
        return first, second, first.usage, second.usage

    jitted = jit(both)
    plain = asyncio.run(both("q"))
    started = time.perf_counter()
    assert asyncio.run(jitted("q")) == plain
    assert time.perf_counter() - started < 0.5  # plain takes 0.6 s: the two overlap
    assert get_jit_stats(jitted)["ops"] == 2
    assert get_jit_stats(jitted)["max_parallelism"] == 2


def test_bindings_and_the_blocks_holding_them_pickle_and_copy():
    # docs/operators.md: a copy (copy.copy, a pickle) of an operator is its own; an
    # Ensemble of model ids, a Judge, a binding raised "cannot pickle 'mappingproxy'".
    import copy
    import pickle

    from ember.api.models import models as api_models
    from ember.api.operators import Ensemble, Judge
    from ember.models import RateLimit
    from ember.xcs import jit

    limit = RateLimit(requests_per_minute=6000)
    binding = api_models.instance("simulated/x", temperature=0.1, rate_limit=limit)
    for copied in (pickle.loads(pickle.dumps(binding)), copy.deepcopy(binding),
                   copy.copy(binding)):
        assert copied.params == {"temperature": 0.1} and copied("hi") == binding("hi")
        assert copied.rate_limit.requests_per_minute == 6000
    assert copy.deepcopy(binding).rate_limit is limit  # one budget, as the provider's
    ensemble = Ensemble(["simulated/a", binding])
    judge = Judge("simulated/judge")
    for copy_of in (lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy):
        assert copy_of(ensemble)("q") == ensemble("q") == jit(copy_of(ensemble))("q")
        assert copy_of(jit(judge))("q", ["a", "b"]) == judge("q", ["a", "b"])


def test_a_binding_of_its_own_registry_copies_onto_that_registry(registry):
    import copy

    binding = ModelBinding("simulated/x", registry=registry, seed=3)
    assert copy.deepcopy(binding)._registry is registry
    assert copy.deepcopy(binding)("q") == binding("q")


def test_a_binding_of_its_own_registry_refuses_pickling_clearly(registry):
    # Its registry's providers hold API keys and connections: a pickle would carry
    # the keys (or fail deep inside with "cannot pickle '_thread.lock' object").
    import pickle

    from ember.models import OpenAIProvider

    registry.register("openai", OpenAIProvider(api_key="sk-not-in-a-pickle"))
    for model_id in ("simulated/x", "openai/gpt-4o"):
        with pytest.raises(TypeError, match=r"registry of its own.*models\.instance"):
            pickle.dumps(ModelBinding(model_id, registry=registry))
