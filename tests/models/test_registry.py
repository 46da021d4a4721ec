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
from ember.xcs.ops import Op


def test_builtin_providers_and_bare_names():
    registry = default_registry()
    assert {"openai", "anthropic", "simulated"} <= set(registry.names())
    assert registry.resolve("gpt-4o") == ("openai", "gpt-4o")
    assert registry.resolve("o1-mini") == ("openai", "o1-mini")
    assert registry.resolve("claude-sonnet-4-5") == ("anthropic", "claude-sonnet-4-5")
    assert registry.resolve("openai/my-vllm-model") == ("openai", "my-vllm-model")
    assert registry.resolve("simulated/a/b") == ("simulated", "a/b")


def test_unknown_bare_name_lists_providers_and_suggests():
    with pytest.raises(ModelNotFoundError) as caught:
        default_registry().resolve("gpt4o")
    message = str(caught.value)
    assert "'gpt4o'" in message and "anthropic, openai, simulated" in message
    assert "Did you mean: gpt-4o" in message


def test_unknown_provider_lists_registered_ones():
    with pytest.raises(ProviderNotFoundError, match="'nope'.*anthropic, openai, simulated"):
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
