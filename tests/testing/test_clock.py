import asyncio
import threading

from ember.testing import FakeClock


def test_waits_move_time_to_the_latest_deadline_only():
    clock = FakeClock(start=10.0)
    clock.sleep_until(12.0)
    clock.sleep_until(11.0)  # already past: time does not go back
    assert clock.monotonic() == 12.0 and clock.waits == 2
    clock.advance(0.5)
    assert clock.monotonic() == 12.5


def test_concurrent_waiters_end_at_the_latest_deadline():
    clock = FakeClock()
    threads = [threading.Thread(target=clock.sleep_until, args=(float(d),)) for d in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 8.0


def test_async_waits_return_at_once_and_let_others_run():
    clock = FakeClock()
    order = []

    async def waiter(name, deadline):
        await clock.asleep_until(deadline)
        order.append(name)

    async def main():
        await asyncio.gather(waiter("late", 5.0), waiter("soon", 1.0))

    asyncio.run(main())
    assert clock.monotonic() == 5.0 and sorted(order) == ["late", "soon"]
