"""ember.xcs.cache.shipping: the caller's side of caching an op shipped to another process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import pickle

from ember.xcs import op
from ember.xcs.cache import MISSING, MemoryStore, counters, reset_counters, use
from ember.xcs.cache.shipping import plan_shipping

RUNS: list[int] = []


def _square(x: int) -> int:
    RUNS.append(x)
    return x * x


async def _increment(x: int) -> int:
    await asyncio.sleep(0)
    RUNS.append(x)
    return x + 1


def _done(value: object) -> concurrent.futures.Future[object]:
    future: concurrent.futures.Future[object] = concurrent.futures.Future()
    future.set_result(value)
    return future


def test_a_miss_ships_the_body_without_its_cache_step_and_keeps_the_result_here() -> None:
    square = op(_square, cache=True, version="1", retries=1)
    store = MemoryStore()
    RUNS.clear()
    reset_counters()
    with use(store):
        plan = plan_shipping(square.invoke, ((3,), {}), {})
        assert plan is not None and plan.value is MISSING
        shipped = pickle.loads(pickle.dumps(plan.ship))  # what a worker would receive
        assert shipped((3,), {}) == 9 and RUNS == [3]
        assert store.summary().entries == 0  # the shipped body cached nothing
        plan.keep(_done(9))
        assert store.summary().entries == 1
        again = plan_shipping(square.invoke, ((3,), {}), {})
    assert again is not None and again.value == 9 and RUNS == [3]
    assert (counters()["misses"], counters()["writes"], counters()["hits"]) == (1, 1, 1)


def test_a_failed_or_cancelled_call_is_not_kept() -> None:
    square = op(_square, cache=True, version="1")
    store = MemoryStore()
    with use(store):
        plan = plan_shipping(square.invoke, ((4,), {}), {})
    assert plan is not None
    failed: concurrent.futures.Future[object] = concurrent.futures.Future()
    failed.set_exception(ValueError("no"))
    cancelled: concurrent.futures.Future[object] = concurrent.futures.Future()
    cancelled.cancel()
    plan.keep(failed)
    plan.keep(cancelled)
    assert store.summary().entries == 0


def test_coroutine_ops_ship_their_async_body() -> None:
    increment = op(_increment, cache=True, version="1")
    RUNS.clear()
    with use(MemoryStore()):
        plan = plan_shipping(increment.invoke, ((1,), {}), {})
    assert plan is not None and plan.value is MISSING
    assert plan.ship((1,), {}) == 2 and RUNS == [1]


def test_nothing_to_plan_without_a_cache_step_or_a_store() -> None:
    plain = op(_square)
    model_like = op(_square, cache=None, version="1")  # cached only with a store active
    assert plan_shipping(plain.invoke, ((2,), {}), {}) is None
    assert plan_shipping(model_like.invoke, ((2,), {}), {}) is None
    assert plan_shipping(_square, (2,), {}) is None  # not an op at all
    with use(MemoryStore()):
        assert plan_shipping(model_like.invoke, ((2,), {}), {}) is not None


def test_a_call_of_a_key_being_shipped_follows_it_and_is_answered_from_the_store() -> None:
    square = op(_square, cache=True, version="1")
    store = MemoryStore()
    reset_counters()
    answers: list[tuple[object, object]] = []
    with use(store):
        first = plan_shipping(square.invoke, ((5,), {}), {})
        second = plan_shipping(square.invoke, ((5,), {}), {})
    assert first is not None and first.follow is None
    assert second is not None and second.follow is not None and second.value is MISSING
    second.follow(lambda value, error: answers.append((value, error)))
    assert answers == []  # waits for the first, without holding a thread
    first.keep(_done(25))
    assert answers == [(25, None)]
    assert (counters()["misses"], counters()["hits"], counters()["writes"]) == (1, 1, 1)


def test_followers_of_a_call_that_failed_or_was_never_shipped_ship_themselves() -> None:
    square = op(_square, cache=True, version="1")
    answers: list[tuple[object, object]] = []
    for outcome in ("failed", "cancelled"):
        with use(MemoryStore()):
            first = plan_shipping(square.invoke, ((6,), {}), {})
            second = plan_shipping(square.invoke, ((6,), {}), {})
        assert first is not None and second is not None and second.follow is not None
        second.follow(lambda value, error: answers.append((value, error)))
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        if outcome == "failed":
            future.set_exception(ValueError("no"))
        else:
            future.cancel()  # what DaskExecutor.submit does when it cannot ship the call
        first.keep(future)
    assert answers == [(MISSING, None), (MISSING, None)]
