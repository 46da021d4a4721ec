"""``Slots``: one cap for threads and coroutines, never leaking a slot."""

import asyncio
import threading
import time

from ember.models._slots import Slots


def test_threads_and_two_event_loops_share_one_cap():
    slots = Slots(2)
    lock = threading.Lock()
    active = peak = 0

    def enter():
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)

    def leave():
        nonlocal active
        with lock:
            active -= 1

    def thread_user():
        slots.acquire()
        enter()
        time.sleep(0.02)
        leave()
        slots.release()

    async def coroutine_user():
        await slots.aacquire()
        enter()
        await asyncio.sleep(0.02)
        leave()
        slots.release()

    async def loop_users():
        await asyncio.gather(*(coroutine_user() for _ in range(8)))

    workers = [threading.Thread(target=thread_user) for _ in range(6)]
    workers += [threading.Thread(target=asyncio.run, args=(loop_users(),)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert peak == 2 and active == 0
    assert slots._free == 2 and not slots._waiters


def test_cancelled_waiters_do_not_leak_slots():
    slots = Slots(1)

    async def main():
        await slots.aacquire()
        waiters = [asyncio.create_task(slots.aacquire()) for _ in range(5)]
        await asyncio.sleep(0.01)
        slots.release()  # handed to the first waiter ...
        for waiter in waiters:
            waiter.cancel()  # ... which is cancelled before it runs
        await asyncio.gather(*waiters, return_exceptions=True)
        await asyncio.sleep(0.01)
        await asyncio.wait_for(slots.aacquire(), 1.0)  # the slot came back
        slots.release()

    asyncio.run(main())
    assert slots._free == 1 and not slots._waiters


def test_a_waiter_on_a_closed_loop_is_skipped():
    slots = Slots(1)
    slots.acquire()
    loop = asyncio.new_event_loop()
    task = loop.create_task(slots.aacquire())
    loop.run_until_complete(asyncio.sleep(0.01))
    task.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    slots.release()
    slots.acquire()  # would block forever if the slot had gone to the dead waiter
    slots.release()
    assert slots._free == 1


def test_an_owner_holding_every_slot_is_refused_another_instead_of_waiting_forever():
    slots = Slots(2, "Local")
    owners = [slots.acquire(), slots.acquire()]
    try:
        slots.acquire()
    except Exception as error:
        assert type(error).__name__ == "ModelError"
        assert str(error).startswith(
            "Local (max_concurrency=2): all 2 of its slots are held by this thread")
    else:
        raise AssertionError("the third acquire should have been refused")
    for owner in owners:
        slots.release(owner)
    assert slots._free == 2 and not slots._held and not slots._waiters


def test_an_owner_holding_some_slots_still_waits_for_another_owners():
    slots = Slots(2)
    taken = []

    def hold_one_then_ask_again():
        taken.append(slots.acquire())
        taken.append(slots.acquire())  # waits for the main thread's slot, as before

    slots.acquire()
    first = slots._held.copy()
    asker = threading.Thread(target=hold_one_then_ask_again, daemon=True)
    asker.start()
    time.sleep(0.05)
    assert asker.is_alive() and len(taken) == 1
    (mine,) = first
    slots.release(mine)
    asker.join(5)
    assert not asker.is_alive() and taken == [taken[0], taken[0]]
    assert slots._held == {taken[0]: 2}
