import asyncio
import threading
import time

import pytest

from ember.models import (
    InvalidParamsError,
    ProviderTimeoutError,
    RetryPolicy,
    SimulatedFailure,
    SimulatedProvider,
)


def complete(provider, prompt="Capital of France?", model="m", **params):
    return provider.complete("simulated", model, prompt, params)


def test_replies_are_deterministic_and_labelled():
    provider = SimulatedProvider()
    first, second = complete(provider), complete(SimulatedProvider())
    assert first == second and first.simulated and first.startswith("[simulated] ")
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0


def test_reply_depends_on_model_prompt_and_params():
    provider = SimulatedProvider()
    prompts = [f"question {i}" for i in range(40)]
    assert len({complete(provider, p) for p in prompts}) > 1
    by_model = [
        complete(provider, p, model="a") != complete(provider, p, model="b") for p in prompts
    ]
    assert any(by_model) and not all(by_model)
    by_temperature = [
        complete(provider, p) != complete(provider, p, temperature=1.0) for p in prompts
    ]
    assert any(by_temperature)


def test_follows_answer_with_one_of():
    reply = complete(SimulatedProvider(), "Is it right? Answer with one of: PASS, FAIL")
    assert reply.text in ("[simulated] PASS", "[simulated] FAIL")


def test_simulation_params_do_not_change_text():
    provider = SimulatedProvider()
    assert complete(provider, latency=0.0) == complete(provider, latency=0.01, failure_rate=0.0)


def test_fixed_latency_is_applied():
    start = time.perf_counter()
    complete(SimulatedProvider(latency=0.05))
    assert time.perf_counter() - start >= 0.05


def test_latency_range_is_seeded_by_request(monkeypatch):
    slept = []
    monkeypatch.setattr("ember.models.providers.simulated.time.sleep", slept.append)
    provider = SimulatedProvider(latency=(0.1, 0.2))
    for prompt in ("a", "b", "a"):
        complete(provider, prompt)
    assert all(0.1 <= s <= 0.2 for s in slept)
    assert slept[0] == slept[2] and slept[0] != slept[1]


def test_failure_rate_is_deterministic_per_prompt_and_not_retried():
    provider = SimulatedProvider(
        failure_rate=0.5, retry=RetryPolicy(max_attempts=5, initial_delay=10)
    )
    outcomes = {}
    for i in range(60):
        try:
            complete(provider, f"q{i}")
            outcomes[i] = "ok"
        except SimulatedFailure as error:
            assert "failure_rate=0.5" in str(error)
            outcomes[i] = "failed"
    assert 10 < list(outcomes.values()).count("failed") < 50
    failing = next(i for i, outcome in outcomes.items() if outcome == "failed")
    with pytest.raises(SimulatedFailure):
        complete(provider, f"q{failing}")
    assert complete(provider, f"q{failing}", failure_rate=0.0).simulated


def test_always_and_never_fail():
    with pytest.raises(SimulatedFailure):
        complete(SimulatedProvider(failure_rate=1.0))
    assert complete(SimulatedProvider(failure_rate=0.0))


def test_bad_settings_are_rejected():
    with pytest.raises(InvalidParamsError, match="latency"):
        SimulatedProvider(latency=-1)
    with pytest.raises(InvalidParamsError, match="failure_rate"):
        SimulatedProvider(failure_rate=2)
    with pytest.raises(InvalidParamsError, match="max_concurrency"):
        SimulatedProvider(max_concurrency=0)


def test_failures_name_the_provider_and_model_actually_called():
    from ember.models import ModelsAPI, ProviderRegistry

    registry = ProviderRegistry()
    registry.register("simulated", SimulatedProvider())
    registry.register("flaky", SimulatedProvider(failure_rate=1.0))
    with pytest.raises(SimulatedFailure) as caught:
        ModelsAPI(registry)("flaky/s", "hi")
    assert str(caught.value).startswith("flaky/s: simulated failure")
    assert "simulated/s" not in str(caught.value)
    assert caught.value.model_id == "flaky/s"


def test_the_async_path_sleeps_on_the_loop_without_threads():
    import concurrent.futures

    class NoThreads(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            raise AssertionError(f"the async path used a thread for {fn!r}")

    provider = SimulatedProvider(latency=0.2)
    threads_before = threading.active_count()

    async def many():
        asyncio.get_running_loop().set_default_executor(NoThreads())
        start = time.perf_counter()
        replies = await asyncio.gather(
            *(provider.acomplete("simulated", "m", f"q{i}", {}) for i in range(200))
        )
        return replies, time.perf_counter() - start, threading.active_count()

    replies, elapsed, threads_during = asyncio.run(many())
    assert elapsed < 1.0, elapsed  # 200 x 0.2 s concurrently, not one after another
    assert threads_during <= threads_before
    assert replies == [complete(SimulatedProvider(), f"q{i}") for i in range(200)]


def test_async_and_sync_fail_alike():
    provider = SimulatedProvider(failure_rate=1.0)
    with pytest.raises(SimulatedFailure) as sync_error:
        complete(provider, "same")
    with pytest.raises(SimulatedFailure) as async_error:
        asyncio.run(provider.acomplete("simulated", "m", "same", {}))
    assert str(sync_error.value) == str(async_error.value)


def test_a_latency_beyond_the_timeout_times_out_like_a_real_provider():
    provider = SimulatedProvider(latency=5.0, timeout=0.1)
    start = time.perf_counter()
    with pytest.raises(ProviderTimeoutError, match=r"simulated/m: no reply within timeout=0\.1 s"):
        complete(provider)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(TimeoutError):
        asyncio.run(provider.acomplete("simulated", "m", "q", {"timeout": 0.05}))
    assert complete(provider, latency=0.01).simulated  # a per-call latency within the limit


def test_timeouts_are_retried_only_when_asked():
    calls = SimulatedProvider(
        latency=1.0, timeout=0.05, retry=RetryPolicy(max_attempts=3, initial_delay=0)
    )
    start = time.perf_counter()
    with pytest.raises(ProviderTimeoutError):
        complete(calls)
    single = time.perf_counter() - start
    retrying = SimulatedProvider(
        latency=1.0,
        timeout=0.05,
        retry=RetryPolicy(max_attempts=3, initial_delay=0, retry_timeouts=True),
    )
    start = time.perf_counter()
    with pytest.raises(ProviderTimeoutError) as caught:
        complete(retrying)
    assert time.perf_counter() - start >= 0.15 > single
    assert "gave up after 3 attempts" in caught.value.__notes__[0]


def test_stream_is_word_by_word_and_equals_the_plain_reply():
    provider = SimulatedProvider()
    prompt = "Which one? Answer with one of: the first option, the second option"
    stream = provider.stream("simulated", "m", prompt, {})
    chunks = list(stream)
    assert len(chunks) >= 3 and "".join(chunks) == stream.response
    assert stream.response == complete(provider, prompt)
    assert stream.response.usage == complete(provider, prompt).usage
    assert stream.response.simulated


def test_stream_spreads_the_latency_over_the_chunks():
    stream = SimulatedProvider(latency=0.3).stream("simulated", "m", "a b c d e f", {})
    start = time.perf_counter()
    first = next(stream)
    first_at = time.perf_counter() - start
    rest = list(stream)
    total = time.perf_counter() - start
    assert first and rest
    assert first_at < 0.25 and total >= 0.29


def test_async_stream_fails_before_the_first_chunk_like_the_plain_call():
    provider = SimulatedProvider(failure_rate=1.0)

    async def read():
        return [chunk async for chunk in provider.astream("simulated", "m", "q", {})]

    with pytest.raises(SimulatedFailure, match="simulated/m"):
        asyncio.run(read())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"latency": float("nan")}, "latency"),
        ({"retry": 3}, "retry"),
    ],
)
def test_more_bad_settings_are_named(kwargs, field):
    with pytest.raises(InvalidParamsError, match=field):
        SimulatedProvider(**kwargs)
