import pytest

from ember.models import (
    InvalidParamsError,
    ModelNotFoundError,
    OpenAIProvider,
    ProviderNotFoundError,
    ProviderRegistry,
    SimulatedProvider,
    default_registry,
)
from ember.xcs import Op


def test_builtin_providers_and_bare_names():
    registry = default_registry()
    assert {"openai", "anthropic", "simulated"} <= set(registry.names())
    assert registry.resolve("gpt-4o") == ("openai", "gpt-4o")
    assert registry.resolve("o1-mini") == ("openai", "o1-mini")
    assert registry.resolve("claude-sonnet-4-5") == ("anthropic", "claude-sonnet-4-5")
    assert registry.resolve("openai/my-vllm-model") == ("openai", "my-vllm-model")
    assert registry.resolve("simulated/a/b") == ("simulated", "a/b")


def test_pyembers_provider_colon_model_form_resolves_like_the_slash_form():
    from ember.api.models import models

    registry = default_registry()
    assert registry.resolve("openai:gpt-4o") == ("openai", "gpt-4o")
    assert registry.resolve("anthropic:claude-3-5-haiku-latest") == (
        "anthropic", "claude-3-5-haiku-latest")
    assert registry.resolve("ollama/llama3.2:1b") == ("ollama", "llama3.2:1b")  # a tag stays
    assert models("simulated:m", "hi").text == models("simulated/m", "hi").text
    for unknown in ("nope:gpt-4o", "openai:", "llama3.2:1b"):  # not a provider, or no model
        with pytest.raises(ModelNotFoundError):
            registry.resolve(unknown)


def test_unknown_bare_name_lists_providers_and_suggests():
    with pytest.raises(ModelNotFoundError) as caught:
        default_registry().resolve("gpt4o")
    message = str(caught.value)
    assert "'gpt4o'" in message and "anthropic, ollama, openai, simulated" in message
    assert "Did you mean: gpt-4o" in message


def test_unknown_provider_lists_registered_ones():
    with pytest.raises(ProviderNotFoundError, match="'nope'.*anthropic, ollama, openai, simulated"):
        default_registry().resolve("nope/model")


@pytest.mark.parametrize("model_id", ["", "  ", "simulated/", None])
def test_empty_ids_are_rejected(model_id):
    with pytest.raises(ModelNotFoundError):
        default_registry().resolve(model_id)


def test_factories_run_once_on_first_use():
    made = []
    registry = ProviderRegistry()

    def factory():
        made.append(1)
        return SimulatedProvider()

    registry.register("lazy", factory)
    assert made == []
    first = registry.provider("lazy")
    assert registry.provider("lazy") is first and made == [1]


def test_factory_must_return_a_provider():
    registry = ProviderRegistry()
    registry.register("bad", lambda: "not a provider")
    with pytest.raises(InvalidParamsError, match="returned str"):
        registry.provider("bad")


def test_registration_is_checked():
    registry = ProviderRegistry()
    with pytest.raises(InvalidParamsError):
        registry.register("a/b", SimulatedProvider())
    with pytest.raises(InvalidParamsError):
        registry.register("x", 42)
    registry.register("one", SimulatedProvider(), model_prefixes=["sim-"])
    with pytest.raises(InvalidParamsError, match="'one'"):
        registry.register("two", SimulatedProvider(), model_prefixes=["sim-"])


def test_a_single_str_prefix_is_one_prefix_not_its_letters():
    registry = ProviderRegistry()
    registry.register("local", SimulatedProvider(), model_prefixes="llama")
    assert registry.resolve("llama3.2") == ("local", "llama3.2")
    for unrelated in ("mystery", "amazing", "lla"):
        with pytest.raises(ModelNotFoundError):
            registry.resolve(unrelated)


@pytest.mark.parametrize(
    ("prefixes", "shown"),
    [([5], "5 (int)"), (["ok-", None], "None (NoneType)"), ([""], "'' (str)"), (7, "got int")],
)
def test_bad_prefixes_are_refused_at_registration(prefixes, shown):
    registry = ProviderRegistry()
    registry.register("sim", SimulatedProvider(), model_prefixes=("sim-",))
    with pytest.raises(InvalidParamsError, match="model_prefixes") as caught:
        registry.register("p2", SimulatedProvider(), model_prefixes=prefixes)
    assert shown in str(caught.value)
    assert "non-empty str" in str(caught.value)
    # Nothing was registered, so the other provider's bare names still resolve.
    assert registry.names() == ["sim"]
    assert registry.resolve("sim-a") == ("sim", "sim-a")


def test_longest_prefix_wins_and_replacement_keeps_prefixes():
    registry = ProviderRegistry()
    registry.register("short", SimulatedProvider(), model_prefixes=["m"])
    registry.register("long", SimulatedProvider(), model_prefixes=["mx-"])
    assert registry.resolve("mx-1") == ("long", "mx-1")
    assert registry.resolve("m2") == ("short", "m2")
    registry.register("long", SimulatedProvider())
    assert registry.resolve("mx-1") == ("long", "mx-1")


def test_one_cached_op_per_model_carrying_the_provider_limit():
    registry = ProviderRegistry()
    registry.register("sim", SimulatedProvider(max_concurrency=3))
    model_op = registry.op_for("sim", "gpt-4o")
    assert isinstance(model_op, Op)
    assert model_op is registry.op_for("sim", "gpt-4o")
    assert model_op is not registry.op_for("sim", "other")
    assert model_op.name == "llm[gpt-4o]"
    assert model_op.max_concurrency == 3
    assert model_op.limit_key == ("provider", "sim")
    assert model_op("hi").model_id == "sim/gpt-4o"


def test_replacing_a_provider_drops_its_ops():
    registry = ProviderRegistry()
    registry.register("sim", SimulatedProvider())
    old = registry.op_for("sim", "m")
    registry.register("sim", SimulatedProvider(max_concurrency=2))
    assert registry.op_for("sim", "m") is not old
    assert registry.op_for("sim", "m").max_concurrency == 2


def test_list_models_names_known_models():
    registry = ProviderRegistry()
    registry.register("openai", OpenAIProvider)
    registry.register("custom", lambda: SimulatedProvider())
    listed = registry.list_models()
    assert "openai/gpt-4o" in listed and "custom/<model>" in listed


def test_the_op_cache_is_a_bounded_lru():
    registry = ProviderRegistry(op_cache_size=3)
    registry.register("sim", SimulatedProvider())
    first = registry.op_for("sim", "a")
    registry.op_for("sim", "b")
    registry.op_for("sim", "c")
    assert registry.op_for("sim", "a") is first  # used again: now the most recent
    registry.op_for("sim", "d")  # evicts "b", the least recently used
    assert registry.cached_ops() == 3
    assert registry.op_for("sim", "a") is first
    with pytest.raises(InvalidParamsError, match=r"ProviderRegistry\(op_cache_size=\.\.\.\)"):
        ProviderRegistry(op_cache_size=0)


def memory_growth_of_new_ids(op_cache_size, count=10_000):
    """Bytes still allocated after calls to ``count`` new ids, past a warm-up of as many."""
    import gc
    import tracemalloc

    from ember.models import ModelsAPI

    registry = ProviderRegistry(op_cache_size=op_cache_size)
    registry.register("simulated", SimulatedProvider())
    api = ModelsAPI(registry)
    tracemalloc.start()
    try:
        for i in range(count):
            api(f"simulated/model-{i}", "hi")
        gc.collect()
        warm = tracemalloc.get_traced_memory()[0]
        for i in range(count, 2 * count):
            api(f"simulated/model-{i}", "hi")
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - warm, registry.cached_ops()
    finally:
        tracemalloc.stop()


def test_20000_distinct_model_ids_keep_memory_bounded():
    grown, cached = memory_growth_of_new_ids(op_cache_size=1024)
    assert cached == 1024
    assert grown < 100_000, grown
    # The same 10,000 further ids with a cache big enough to keep them all: this is the
    # growth the bound prevents, so the check above can fail.
    unbounded, kept = memory_growth_of_new_ids(op_cache_size=1_000_000)
    assert kept == 20_000 and unbounded > 20 * max(grown, 10_000), (unbounded, grown)


def test_the_model_op_is_sync_outside_a_trace_and_async_under_jit():
    from ember.models import Completion, ModelsAPI, Provider, Usage
    from ember.xcs import jit

    class Twofold(Provider):
        def __init__(self):
            super().__init__()
            self.paths = []

        def send(self, model, messages, params):
            self.paths.append("sync")
            return Completion(messages[-1]["content"], Usage.of(1, 1))

        async def asend(self, model, messages, params):
            self.paths.append("async")
            return Completion(messages[-1]["content"], Usage.of(1, 1))

    provider = Twofold()
    registry = ProviderRegistry()
    registry.register("two", provider)
    api = ModelsAPI(registry)
    model_op = registry.op_for("two", "m")
    assert model_op.async_fn is not None and model_op.limit_key == ("provider", "two")
    plain = api("two/m", "hi")
    assert plain == "hi" and provider.paths == ["sync"]

    @jit
    def fan_out(items):
        return [api("two/m", item) for item in items]

    assert fan_out(["a", "b", "c"]) == ["a", "b", "c"]
    assert provider.paths == ["sync", "async", "async", "async"]


class Counting(SimulatedProvider):
    """The simulated provider, counting the requests it really sends."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sent = 0

    def send(self, model, messages, params):
        self.sent += 1
        return super().send(model, messages, params)

    async def asend(self, model, messages, params):
        self.sent += 1
        return await super().asend(model, messages, params)


def counting_api(**provider_kwargs):
    from ember.models import ModelsAPI

    provider = Counting(**provider_kwargs)
    registry = ProviderRegistry()
    registry.register("simulated", provider)
    return ModelsAPI(registry), provider


def test_model_calls_use_the_result_cache_exactly_when_one_is_on():
    from ember.xcs.cache import MemoryStore, use

    api, provider = counting_api()
    api("simulated/m", "q")
    api("simulated/m", "q")
    assert provider.sent == 2  # no cache configured: every call is sent
    with use(MemoryStore()):
        first = api("simulated/m", "q", temperature=0)
        again = api("simulated/m", "q", temperature=0)
        other = api("simulated/m", "q", temperature=1)
    assert provider.sent == 4  # the repeat was a hit; new parameters are a new key
    assert again == first and type(again) is type(first) and again.usage == first.usage
    assert other.model_id == "simulated/m"


def test_jitted_model_calls_hit_the_configured_cache_on_the_async_path():
    from ember.xcs import Config, jit
    from ember.xcs.cache import MemoryStore

    api, provider = counting_api()

    def fan_out(items):
        return [api("simulated/m", item) for item in items]

    cached = jit(fan_out, config=Config(result_cache=MemoryStore()))
    assert cached(["a", "b", "a"]) == fan_out(["a", "b", "a"])
    sent = provider.sent
    assert cached(["a", "b"]) == fan_out(["a", "b"])
    assert provider.sent == sent + 2  # the jitted repeat cost nothing; plain calls did


def test_replies_of_different_servers_never_share_cache_entries():
    from ember.models import ModelsAPI
    from ember.testing import LoopbackServer
    from ember.xcs.cache import MemoryStore, use

    with LoopbackServer() as first, LoopbackServer() as second, use(MemoryStore()):
        for server in (first, second, first, second):
            registry = ProviderRegistry()
            registry.register("local", OpenAIProvider(base_url=server.openai_base_url, api_key="k"))
            assert ModelsAPI(registry)("local/m", "same question") == "[loopback m] same question"
        assert first.stats().requests == second.stats().requests == 1


# -- call_target: what every models(...) call looks up ------------------------------------


def test_call_target_is_resolve_prepare_and_op_for():
    registry = ProviderRegistry()
    registry.register("sim", SimulatedProvider(), model_prefixes=("sm-",))
    provider, call = registry.call_target("sim/a")
    assert provider is registry.provider("sim") and call is registry.op_for("sim", "a")
    assert registry.call_target("sim/a") == (provider, call)  # looked up again: the same
    assert registry.call_target("sm-1")[1] is registry.op_for("sim", "sm-1")
    assert call("hi").model_id == "sim/a"


def test_call_target_prepares_the_provider_on_every_call():
    from ember.models import MissingAPIKeyError

    class Keyed(SimulatedProvider):
        """Like an SDK provider: ``prepare`` fails while the key is missing."""

        def __init__(self):
            super().__init__()
            self.key = "set"
            self.prepared = 0

        def prepare(self):
            self.prepared += 1
            if self.key is None:
                raise MissingAPIKeyError("KEYED_API_KEY is not set.")

    provider = Keyed()
    registry = ProviderRegistry()
    registry.register("keyed", provider)
    registry.call_target("keyed/m")
    registry.call_target("keyed/m")
    assert provider.prepared == 2
    provider.key = None  # removed after the id was looked up: every call still checks
    for _ in range(2):
        with pytest.raises(MissingAPIKeyError, match="KEYED_API_KEY"):
            registry.call_target("keyed/m")
    assert provider.prepared == 4


@pytest.mark.parametrize(
    ("model_id", "error"),
    [("nope-model", ModelNotFoundError), ("nope/model", ProviderNotFoundError),
     ("sim/", ModelNotFoundError), (None, ModelNotFoundError), (["sim/a"], ModelNotFoundError)],
)
def test_call_target_rejects_bad_ids_every_time(model_id, error):
    registry = ProviderRegistry()
    registry.register("sim", SimulatedProvider())
    for _ in range(2):
        with pytest.raises(error):
            registry.call_target(model_id)


def test_a_registration_changes_what_looked_up_ids_call():
    registry = ProviderRegistry()
    registry.register("short", SimulatedProvider(), model_prefixes=("m",))
    assert registry.call_target("mx-1")[1] is registry.op_for("short", "mx-1")
    registry.register("long", SimulatedProvider(), model_prefixes=("mx",))
    assert registry.call_target("mx-1")[1] is registry.op_for("long", "mx-1")
    replacement = SimulatedProvider(max_concurrency=2)
    registry.register("short", replacement)
    provider, call = registry.call_target("m2")
    assert provider is replacement and call.max_concurrency == 2


def test_a_registration_during_a_look_up_is_not_remembered_stale():
    registry = ProviderRegistry()
    registry.register("short", SimulatedProvider(), model_prefixes=("m",))
    resolve = registry.resolve

    def resolve_then_register(model_id):
        answer = resolve(model_id)
        registry.register("long", SimulatedProvider(), model_prefixes=("mx",))
        return answer

    registry.resolve = resolve_then_register  # type: ignore[method-assign]
    assert registry.call_target("mx-1")[1].name == "llm[mx-1]"  # resolved before: "short"
    del registry.resolve
    assert registry.call_target("mx-1")[1] is registry.op_for("long", "mx-1")


def test_call_target_rebuilds_an_evicted_op():
    registry = ProviderRegistry(op_cache_size=2)
    registry.register("sim", SimulatedProvider())
    first = registry.call_target("sim/a")[1]
    registry.call_target("sim/b")
    registry.call_target("sim/c")  # evicts "a"
    assert registry.cached_ops() == 2
    again = registry.call_target("sim/a")[1]
    assert again is not first and again("hi") == first("hi")
    assert registry.call_target("sim/a")[1] is again


def test_restore_puts_back_a_snapshot_and_forgets_what_was_looked_up_since():
    registry = ProviderRegistry()
    kept = SimulatedProvider()
    registry.register("kept", kept, model_prefixes=("k",))
    saved = registry.snapshot()
    registry.register("kept", SimulatedProvider(max_concurrency=3))
    registry.register("extra", SimulatedProvider(), model_prefixes=("e",))
    assert registry.call_target("k-1")[1].max_concurrency == 3
    assert dict(saved).keys() == {"kept"}  # later registrations left it as it was
    registry.restore(saved)
    assert registry.names() == ["kept"]
    provider, call = registry.call_target("k-1")
    assert provider is kept and call is registry.op_for("kept", "k-1")
    with pytest.raises(ModelNotFoundError):
        registry.resolve("e-1")


def test_restore_refuses_what_snapshot_did_not_make():
    with pytest.raises(InvalidParamsError, match=r"ProviderRegistry\.snapshot\(\)"):
        ProviderRegistry().restore({"sim": SimulatedProvider()})
