"""Models and operators under ``@jit``: real SDK clients against the loopback server."""

import dataclasses
import time

import openai
import pytest

from ember.api.operators import Ensemble, Judge, MostCommon, Verifier
from ember.models import (
    AnthropicProvider,
    ModelsAPI,
    OpenAIProvider,
    ProviderRegistry,
    RetryPolicy,
    SimulatedFailure,
    SimulatedProvider,
)
from ember.testing.loopback import LoopbackServer
from ember.xcs import get_jit_stats, jit, op

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


def openai_api(server, **provider_kwargs):
    registry = ProviderRegistry()
    provider = OpenAIProvider(base_url=server.openai_base_url, api_key="EMPTY", **provider_kwargs)
    registry.register("openai", provider)
    api = ModelsAPI(registry)
    api("openai/warm-up", "build the client before timing")
    # ... and the async client of the engine's event loop, which jitted calls use.
    jit(lambda: api("openai/warm-up", "build the async client too"))()
    server.reset()
    return api


def test_ensemble_of_16_plus_judge_is_parallel_and_identical(server):
    api = openai_api(server)
    members = Ensemble([api.instance(f"openai/member-{i}") for i in range(16)])
    judge = Judge(api.instance("openai/judge"))

    def pipeline(question):
        return judge(question, members(question))

    jitted = jit(pipeline)
    server.latency = 0.2
    start = time.perf_counter()
    fast = jitted("What is the capital of France?")
    jit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    slow = pipeline("What is the capital of France?")
    plain_seconds = time.perf_counter() - start

    assert fast == slow and fast.model_id == slow.model_id
    assert jit_seconds < 0.7, jit_seconds
    assert plain_seconds > 3.2, plain_seconds
    assert server.stats().requests == 2 * 17


def test_429_storm_completes_with_correct_results_within_the_policy(server):
    api = openai_api(server, retry=FAST_RETRY)
    server.rate_limit_first = 2
    prompts = [f"storm {i}" for i in range(12)]

    @jit
    def fan_out(items):
        return [api("openai/m", p) for p in items]

    assert fan_out(prompts) == [f"[loopback m] {p}" for p in prompts]
    stats = server.stats()
    assert (stats.requests, stats.rate_limited, stats.succeeded) == (36, 24, 12)


def test_persistent_500_raises_the_sdk_type_naming_the_node(server):
    api = openai_api(server, retry=FAST_RETRY)
    server.error_status = 500

    @jit
    def fan_out(items):
        return [api("openai/flaky", p) for p in items]

    with pytest.raises(openai.InternalServerError) as caught:
        fan_out(["a", "b", "c", "d"])
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "llm[flaky]" in notes
    assert "gave up after 3 attempts" in notes
    assert 3 <= server.stats().requests <= 4 * 3


def test_max_concurrency_4_holds_for_a_jitted_fan_out_of_32(server):
    api = openai_api(server, max_concurrency=4)
    server.latency = 0.05

    @jit
    def fan_out(n):
        return [api("openai/limited", f"item {i}") for i in range(n)]

    assert len(fan_out(32)) == 32
    stats = server.stats()
    assert stats.requests == 32
    assert 2 <= stats.max_in_flight <= 4


def test_token_usage_in_stats_matches_the_server(server):
    api = openai_api(server)

    @jit
    def fan_out(items):
        return [api("openai/counted", p) for p in items]

    fan_out(["one", "two words", "three little words"])
    assert get_jit_stats(fan_out)["tokens"] == dataclasses.asdict(server.stats().usage)


def test_anthropic_under_jit_matches_plain(server):
    registry = ProviderRegistry()
    registry.register(
        "anthropic",
        AnthropicProvider(base_url=server.anthropic_base_url, api_key="k", retry=FAST_RETRY),
    )
    api = ModelsAPI(registry)
    server.rate_limit_first = 1

    def ask(items):
        return [api("anthropic/claude-x", p, max_tokens=20) for p in items]

    expected = [f"[loopback claude-x] {p}" for p in ("a", "b", "c")]
    assert jit(ask)(["a", "b", "c"]) == expected
    assert server.stats().requests == 6


def test_simulated_pipeline_is_identical_and_parallel():
    registry = ProviderRegistry()
    registry.register("simulated", SimulatedProvider(latency=0.1))
    api = ModelsAPI(registry)
    ensemble = Ensemble([api.instance(f"simulated/m{i}") for i in range(5)])
    vote = MostCommon()
    verifier = Verifier(api.instance("simulated/checker"))

    def answer_all(questions):
        results = []
        for question in questions:
            best = vote(ensemble(question))
            results.append(verifier(question, best))
        return results

    questions = [f"question {i}" for i in range(4)]
    start = time.perf_counter()
    plain = answer_all(questions)
    plain_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fast = jit(answer_all)(questions)
    jit_seconds = time.perf_counter() - start
    assert fast == plain
    assert all(v.answer.simulated for v in fast)
    assert jit_seconds * 3 < plain_seconds


def test_simulated_failure_raises_the_same_under_jit():
    registry = ProviderRegistry()
    registry.register("simulated", SimulatedProvider(failure_rate=1.0))
    api = ModelsAPI(registry)

    def call():
        return api("simulated/x", "q")

    with pytest.raises(SimulatedFailure) as plain_error:
        call()
    with pytest.raises(SimulatedFailure) as jit_error:
        jit(call)()
    assert str(plain_error.value) == str(jit_error.value)


def test_token_usage_is_counted_inside_the_dicts_lists_and_tuples_ops_return(server):
    api = openai_api(server)

    @op
    def answer(question):
        reply = api("openai/counted", question)
        return {"text": reply.text, "usage": reply.usage, "reply": reply}  # one usage, twice

    @op
    def both(question):
        return [api("openai/counted", question), api("openai/counted", question + "?")]

    @op
    def raw(question):
        return ("raw", {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4,
                                                 "total_tokens": 7}})

    @jit
    def pipeline(question):
        return answer(question), both(question), raw(question)

    pipeline("how many tokens")
    reported = dataclasses.asdict(server.stats().usage)
    expected = {key: count + {"prompt_tokens": 3, "completion_tokens": 4,
                              "total_tokens": 7}[key] for key, count in reported.items()}
    assert server.stats().requests == 3
    assert get_jit_stats(pipeline)["tokens"] == expected


def test_a_response_an_op_passes_on_counts_once_per_call():
    from ember.api.models import models

    ensemble = Ensemble(["simulated/a", "simulated/b", "simulated/c"])
    vote = MostCommon()

    @op
    def pick_first(first, second):
        return first

    @jit
    def majority(question):
        answers = ensemble(question)
        return vote(answers), answers

    @jit
    def pick(question):
        first, second = models("simulated/a", question), models("simulated/b", question)
        return pick_first(first, second), first, second

    for pipeline, made_by in ((majority, lambda made: made[0]), (pick, list)):
        spent = 0  # summed over calls, from the responses the provider made
        for question in ("Name a river.", "Name a mountain."):
            _, *made = pipeline(question)
            responses = made_by(made)
            assert len(responses) in (2, 3)
            spent += sum(response.usage.total_tokens for response in responses)
        assert spent > 0
        assert get_jit_stats(pipeline)["tokens"]["total_tokens"] == spent
