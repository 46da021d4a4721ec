"""Rate limits: measured on a fake clock (exact) and in scaled real time."""

import asyncio
import threading
import time

import pytest

from ember.models import (
    InvalidParamsError,
    ModelsAPI,
    OpenAIProvider,
    ProviderRegistry,
    RateLimit,
    SimulatedProvider,
)
from ember.testing import FakeClock, LoopbackServer


def api_with(**provider_kwargs):
    registry = ProviderRegistry()
    registry.register("simulated", SimulatedProvider(**provider_kwargs))
    return ModelsAPI(registry)


def test_60_rpm_spaces_30_sequential_calls_over_29_simulated_seconds():
    clock = FakeClock()
    api = api_with(rate_limit=RateLimit(requests_per_minute=60, clock=clock))
    for i in range(30):
        api("simulated/m", f"q{i}")
    assert clock.monotonic() == pytest.approx(29.0)


def test_60_rpm_holds_for_concurrent_coroutines_and_threads():
    clock = FakeClock()
    limit = RateLimit(requests_per_minute=60, clock=clock)
    api = api_with(rate_limit=limit)

    async def burst():
        await asyncio.gather(*(api.acall("simulated/m", f"a{i}") for i in range(15)))

    asyncio.run(burst())
    assert clock.monotonic() == pytest.approx(14.0)
    threads = [threading.Thread(target=api, args=("simulated/m", f"t{i}")) for i in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == pytest.approx(29.0)


def test_a_binding_limit_and_the_provider_limit_both_hold():
    clock = FakeClock()
    api = api_with(rate_limit=RateLimit(requests_per_minute=120, clock=clock))
    slow = api.instance("simulated/m", rate_limit=RateLimit(requests_per_minute=30, clock=clock))
    for i in range(5):
        slow(f"q{i}")
    assert clock.monotonic() == pytest.approx(8.0)  # the binding's 30/min: 2 s apart
    start = clock.monotonic()
    for i in range(5):
        api("simulated/other", f"q{i}")
    assert clock.monotonic() - start <= 2.5  # the provider's 120/min only


def test_one_limit_object_is_one_budget_shared_by_everything_it_is_given_to():
    clock = FakeClock()
    shared = RateLimit(requests_per_minute=60, clock=clock)
    api = api_with()
    first = api.instance("simulated/a", rate_limit=shared)
    second = api.instance("simulated/b", rate_limit=shared)
    for i in range(5):
        first(f"q{i}")
        second(f"q{i}")
    assert clock.monotonic() == pytest.approx(9.0)


def test_tokens_per_minute_paces_by_estimated_then_reported_tokens():
    clock = FakeClock()
    limit = RateLimit(tokens_per_minute=6_000, clock=clock)  # 100 tokens a second
    api = api_with(rate_limit=limit)
    prompt = "x" * 800  # about 200 prompt tokens, plus max_tokens=100
    for _ in range(6):
        api("simulated/m", prompt, max_tokens=100)
    # Reserved ~300 each; the reported usage (~204) is settled back after each reply.
    assert 9.0 <= clock.monotonic() <= 13.0, clock.monotonic()


def test_no_wait_below_the_limit_and_waits_are_reported():
    clock = FakeClock()
    limit = RateLimit(requests_per_minute=600, clock=clock)  # 10 a second, burst of 10
    assert [limit.acquire() for _ in range(10)] == [0.0] * 10
    assert limit.acquire() == pytest.approx(0.1)
    assert clock.waits == 1


def test_retry_after_pauses_the_whole_budget(monkeypatch):
    clock = FakeClock()
    limit = RateLimit(requests_per_minute=6_000, clock=clock)
    limit.pause(5.0)
    assert limit.acquire() == pytest.approx(5.0)
    assert limit.acquire() < 0.1


def test_a_server_retry_after_pauses_other_calls_of_the_provider():
    with LoopbackServer(rate_limit_first=1, retry_after=1) as server:
        limit = RateLimit(requests_per_minute=6_000)
        provider = OpenAIProvider(base_url=server.openai_base_url, api_key="k", rate_limit=limit)
        provider.complete("openai", "m", "first", {})  # 429 with Retry-After: 1, then ok
        start = time.monotonic()
        limit.acquire()
        assert time.monotonic() - start < 0.5  # the pause is over once the retry went out
        limit.pause(0.5)
        start = time.monotonic()
        provider.complete("openai", "m", "second", {"max_tokens": 5})
        assert time.monotonic() - start >= 0.45


def test_scaled_real_time_600_rpm_takes_a_second_for_20_calls():
    api = api_with(rate_limit=RateLimit(requests_per_minute=600))
    start = time.perf_counter()
    for i in range(20):
        api("simulated/m", f"q{i}")
    assert time.perf_counter() - start >= 0.95  # 10 at once, then 10 more at 10 a second


def test_scaled_real_time_on_the_async_path_never_blocks_the_loop():
    api = api_with(rate_limit=RateLimit(requests_per_minute=1_200))  # 20 a second

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        await asyncio.gather(*(api.acall("simulated/m", f"q{i}") for i in range(40)))
        elapsed = time.perf_counter() - start
        task.cancel()
        return elapsed, ticks

    elapsed, ticks = asyncio.run(main())
    assert elapsed >= 0.95
    assert ticks >= 0.5 * elapsed / 0.01  # the loop kept running while calls waited


def test_a_cancelled_waiter_gives_its_place_back():
    clock_limit = RateLimit(requests_per_minute=60)
    clock_limit.acquire()  # the bucket is empty now: the next waits ~1 s

    async def main():
        waiter = asyncio.create_task(clock_limit.aacquire())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(main())
    start = time.perf_counter()
    clock_limit.acquire()
    assert time.perf_counter() - start < 1.05  # not 2 s: the cancelled place was refunded


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs requests_per_minute"),
        ({"requests_per_minute": 0}, r"RateLimit\(requests_per_minute=\.\.\.\)"),
        ({"requests_per_minute": -1}, "requests_per_minute"),
        ({"requests_per_minute": float("nan")}, "requests_per_minute"),
        ({"tokens_per_minute": float("inf")}, "tokens_per_minute"),
        ({"tokens_per_minute": "1000"}, "tokens_per_minute"),
        ({"requests_per_minute": 60, "clock": "system"}, r"RateLimit\(clock=\.\.\.\)"),
    ],
)
def test_bad_limits_are_named(kwargs, match):
    with pytest.raises(InvalidParamsError, match=match):
        RateLimit(**kwargs)


def test_repr_shows_the_budget():
    assert repr(RateLimit(requests_per_minute=60)) == (
        "RateLimit(requests_per_minute=60.0, tokens_per_minute=None)"
    )


# --- under @jit: concurrent ops still share the provider's budget ----------------------


def test_a_provider_limit_holds_for_a_jitted_fan_out_on_a_fake_clock():
    from ember.xcs import jit

    clock = FakeClock()
    api = api_with(rate_limit=RateLimit(requests_per_minute=60, clock=clock))

    def fan_out(question):
        return [api("simulated/m", f"{question} {i}") for i in range(30)]

    replies = jit(fan_out)("q")
    assert clock.monotonic() == pytest.approx(29.0)  # 30 calls at 1 a second, not at once
    assert replies == fan_out("q")  # plain Python: the same replies


def test_a_provider_limit_spaces_jitted_requests_at_the_server():
    from ember.xcs import jit

    with LoopbackServer() as server:
        provider = OpenAIProvider(base_url=server.openai_base_url, api_key="k",
                                  rate_limit=RateLimit(requests_per_minute=600))  # 10 a second
        registry = ProviderRegistry()
        registry.register("openai", provider)
        api = ModelsAPI(registry)

        @jit
        def fan_out(question):
            return [api("openai/m", f"{question} {i}") for i in range(20)]

        api("openai/m", "warm up the client")
        time.sleep(1.2)  # the bucket is full again: 10 requests may go at once
        server.reset()
        start = time.monotonic()
        replies = fan_out("q")
        elapsed = time.monotonic() - start
        arrivals = sorted(server.stats().arrivals)  # time.monotonic() at the server
    assert replies == [f"[loopback m] q {i}" for i in range(20)]
    assert len(arrivals) == 20 and elapsed >= 0.95
    # The full bucket lets the first 10 go at once; each later one waits for its 0.1 s
    # turn, so the k-th request cannot reach the server before start + (k - 9) * 0.1 s.
    for index in range(10, 20):
        assert arrivals[index] - start >= (index - 9) * 0.1 - 0.01, (index, arrivals, start)
