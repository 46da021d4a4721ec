"""``op(max_concurrency=...)`` holds for op calls made outside a trace, without deadlocks."""

from __future__ import annotations

import asyncio
import threading
import time

from ember.xcs import Config, jit, op
from tests.concurrency import PeakProbe, finishes


class AsyncPeak:
    """``await peak.hold(seconds)`` inside an async op; ``peak.peak`` is the most at once."""

    def __init__(self):
        self.active = 0
        self.peak = 0

    async def hold(self, seconds):
        self.active += 1  # one event loop at a time runs these: no lock needed
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.active -= 1


def test_the_cap_holds_for_an_op_called_in_another_ops_body():
    probe = PeakProbe()

    @op(max_concurrency=2)
    def api(x):
        probe.hold(0.02)
        return x + 1

    @op
    def summarize(x):
        return api(x) * 2

    assert jit(lambda xs: [summarize(x) for x in xs])(list(range(6))) == [2, 4, 6, 8, 10, 12]
    assert probe.peak == 2


def test_the_cap_holds_for_plain_calls_from_many_threads():
    probe = PeakProbe()

    @op(max_concurrency=2)
    def api(x):
        probe.hold(0.02)
        return x

    threads = [threading.Thread(target=api, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert probe.peak == 2


def test_the_cap_holds_for_async_ops_awaited_plainly_and_in_op_bodies():
    peak = AsyncPeak()

    @op(max_concurrency=2)
    async def api(x):
        await peak.hold(0.02)
        return x

    @op
    async def summarize(x):
        return await api(x) * 2

    assert jit(lambda xs: [summarize(x) for x in xs])(list(range(6))) == [0, 2, 4, 6, 8, 10]
    assert peak.peak == 2

    async def gathered():
        return await asyncio.gather(*[api(i) for i in range(6)])

    peak.peak = 0
    assert asyncio.run(gathered()) == list(range(6))
    assert peak.peak == 2


def test_cancelled_waiters_pass_their_slots_on():
    peak = AsyncPeak()

    @op(max_concurrency=2)
    async def api(x):
        await peak.hold(0.02)
        return x

    async def cancel_then_call():
        try:  # two run, four wait for a slot; the timeout cancels them all
            await asyncio.wait_for(asyncio.gather(*[api(i) for i in range(6)]), 0.03)
        except TimeoutError:
            pass
        return await asyncio.gather(*[api(i) for i in range(3)])

    assert finishes(lambda: asyncio.run(cancel_then_call())) == [0, 1, 2]
    assert peak.peak == 2


def test_an_op_calling_itself_runs_on_its_own_slot():
    @op(max_concurrency=1)
    def factorial(n):
        return 1 if n <= 1 else n * factorial(n - 1)

    assert finishes(lambda: factorial(5)) == 120
    assert finishes(lambda: jit(lambda: [factorial(4), factorial(5)])()) == [24, 120]


def test_ops_of_one_group_called_in_each_others_bodies_use_the_callers_slot():
    probe = PeakProbe()

    @op(max_concurrency=2, limit_key="provider")
    def llm(x):
        probe.hold(0.02)
        return x

    @op(max_concurrency=2, limit_key="provider")
    def agent(x):
        return llm(x) + llm(x + 1)  # its caller holds a slot of the group: no new one

    result = finishes(lambda: jit(lambda xs: [agent(x) for x in xs])(list(range(6))))
    assert result == [1, 3, 5, 7, 9, 11]
    assert probe.peak == 2


def test_a_jitted_call_in_a_body_holding_the_groups_slot_runs_its_ops_one_at_a_time():
    probe = PeakProbe()

    @op(max_concurrency=1, limit_key="provider")
    def llm(x):
        probe.hold(0.02)
        return x

    @op(max_concurrency=1, limit_key="provider")
    def agent(x):
        return sum(jit(lambda: [llm(x), llm(x + 1), llm(x + 2)])())

    result = finishes(lambda: jit(lambda xs: [agent(x) for x in xs])(list(range(4))))
    assert result == [3, 6, 9, 12]
    assert probe.peak == 1


def test_a_task_waiting_for_a_worker_does_not_sit_on_a_slot_a_running_body_waits_for():
    @op(max_concurrency=1)
    def api(x):
        time.sleep(0.05)
        return x

    @op
    def summarize(x):
        return api(x) * 2

    @jit(config=Config(max_workers=1))
    def pipeline():
        # api(1) waits for the slot another thread holds; summarize(2) runs on the one
        # worker and waits for the slot too, which api(1) gets first: api(1) must not
        # keep it while it waits for the worker that summarize holds.
        return [api(1), summarize(2)]

    holder = threading.Thread(target=api, args=(0,))
    holder.start()
    time.sleep(0.01)
    assert finishes(pipeline) == [1, 4]
    holder.join()


def test_a_call_on_a_thread_running_an_event_loop_never_blocks_the_loop():
    @op(max_concurrency=1)
    def api(x):
        time.sleep(0.05)
        return x

    async def main():
        holder = threading.Thread(target=api, args=(1,))
        holder.start()
        await asyncio.sleep(0.01)
        value = api(2)  # the slot is taken: it runs without one rather than wait
        holder.join()
        return value

    assert finishes(lambda: asyncio.run(main())) == 2


def test_an_inline_body_never_waits_for_a_slot_held_by_a_task_queued_behind_it():
    @op(max_concurrency=1)
    def api(x):
        time.sleep(0.01)
        return x

    @op
    def summarize(x, call):
        return api(x) * 2 if call else x

    @op
    def fetch(x):
        time.sleep(0.005)
        return x

    warm_up = jit(lambda xs: [summarize(x, False) for x in xs])
    for _ in range(5):
        warm_up(list(range(10)))
    assert summarize.runs_inline  # it has proved to take microseconds

    @jit
    def pipeline():
        fetched = fetch(1)
        # Both become ready when fetch ends, api(fetched) with the slot: summarize runs
        # inline before the drain loop starts api, so it must not wait for that slot.
        return [summarize(fetched, True), api(fetched)]

    assert finishes(pipeline) == [2, 1]
