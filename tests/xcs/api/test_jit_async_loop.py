"""``@jit async def`` keeps the caller's event loop running wherever the glue needs a value."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ember.xcs import jit, op

OP_SECONDS = 0.2
STARTED: list[str] = []


@op
async def ask(question: str) -> Any:
    STARTED.append(question)
    await asyncio.sleep(OP_SECONDS)
    if question == "record":
        return {"answer": "Yes", "tags": ["a", "b"]}
    return f"Yes: {question}"


async def constant_in(q: str) -> object:
    answer = await ask(q)
    return "found" if "Yes" in answer else "not found"


async def name_in(q: str) -> object:
    answer = await ask("record")
    key = "answer"
    found = key in answer
    return [found, "tags" not in answer]


async def in_list_of_results(q: str) -> object:
    answers = [await ask(q), await ask(q + "!")]
    return "Yes: x" in answers


async def any_word(q: str) -> object:
    answer = await ask(q)
    return any(word in answer for word in ["No", "Yes"])


async def list_methods(q: str) -> object:
    answer = await ask(q)
    seen = [f"Yes: {q}", "other"]
    position = seen.index(answer)
    count = seen.count(answer)
    seen.remove(answer)
    return [position, count, seen]


async def set_and_dict(q: str) -> object:
    answer = await ask(q)
    seen: set[object] = set()
    seen.add(answer)
    lookup = {f"Yes: {q}": 1}
    return [len(seen), lookup.get(answer), len({answer}), len({answer: 1})]


async def unpacked(q: str) -> object:
    answer = await ask("record")
    return [[*answer["tags"]], {**answer}["answer"], max(*answer["tags"])]


async def generator_over_result(q: str) -> object:
    answer = await ask("record")
    return sum(1 for tag in answer["tags"])


async def method_in_try(q: str) -> object:
    answer = await ask(q)
    try:
        return answer.upper()
    except AttributeError:
        return None


async def sorted_by_function(q: str) -> object:
    answer = await ask("record")
    return sorted(answer["tags"], key=lambda tag: -ord(tag))


HANDLERS = [constant_in, name_in, in_list_of_results, any_word, list_methods, set_and_dict,
            unpacked, generator_over_result, method_in_try, sorted_by_function]


async def _ticks_during(call: Callable[[str], Awaitable[object]]) -> tuple[object, int]:
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0.005)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    result = await call("x")
    stop = True
    await ticking
    return result, ticks


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda handler: handler.__name__)
def test_the_loop_keeps_running_where_the_glue_needs_an_op_result(
        handler: Callable[[str], Awaitable[object]]) -> None:
    fast = jit(handler)
    asyncio.run(fast("warm-up"))  # the first call also rewrites the function
    expected, _ = asyncio.run(_ticks_during(handler))
    result, ticks = asyncio.run(_ticks_during(fast))
    assert result == expected
    # 200 ms of op with a 5 ms ticker: about 40 ticks; a blocked loop gives 1.
    assert ticks >= 10, f"the loop ran {ticks} times in {OP_SECONDS} s: it was blocked"


async def follow_up(q: str) -> object:
    answer = await ask(q)
    if "Yes" in answer:
        return await ask("follow-up to " + q)
    return answer


def test_a_timeout_lands_while_the_op_runs_and_no_later_op_starts() -> None:
    fast = jit(follow_up)
    # The first call also rewrites the function: done before the timed call, which
    # measures where the timeout lands (a loaded machine took longer than 50 ms here).
    asyncio.run(fast("warm-up"))

    async def main() -> tuple[str, float]:
        begun = time.perf_counter()
        try:
            await asyncio.wait_for(fast("q"), 0.05)
        except TimeoutError:
            return "TimeoutError", time.perf_counter() - begun
        return "no timeout", time.perf_counter() - begun

    STARTED.clear()
    outcome, seconds = asyncio.run(main())
    assert outcome == "TimeoutError"
    assert seconds < OP_SECONDS * 0.75, f"the timeout of 50 ms ended the call after {seconds} s"
    time.sleep(OP_SECONDS)
    assert STARTED == ["q"]  # plain Python never starts the follow-up either


def test_a_call_cancelled_while_waiting_for_an_op_keeps_no_value_of_it() -> None:
    """What awaited the op result inside the glue stays in the cancellation's traceback;
    it keeps no value of the call (escape repair then searched the whole heap at every
    cancelled call, and reported a holder it could not repair)."""
    from ember.xcs import get_jit_stats

    fast = jit(follow_up)
    asyncio.run(fast("warm-up"))

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(fast("q"), 0.05)

    asyncio.run(main())
    time.sleep(OP_SECONDS)
    assert get_jit_stats(fast)["unrepaired_escapes"] == {}
