"""Augmented assignments (``x += y``) with op results change the objects plain Python does."""

from __future__ import annotations

import array
import collections
import time
from typing import Any

from ember.xcs import jit, op


@op
def search(query: str) -> list[str]:
    time.sleep(0.01)
    return [query + "1", query + "2"]


@op
def tags(word: str) -> set[str]:
    time.sleep(0.01)
    return {word, word.upper()}


@op
def repeat(count: int) -> int:
    time.sleep(0.01)
    return count


@op
def history(user: str) -> list[str]:
    time.sleep(0.01)
    return ["hi " + user]


@op
def reply(messages: list[str]) -> str:
    time.sleep(0.03)
    return f"reply to {len(messages)} messages"


def test_adding_an_op_result_to_a_list_extends_that_list() -> None:
    def collect(results: list[str], state: dict[str, Any], query: str) -> int:
        results += search(query)
        alias = state["seen"]
        alias += search(query + "!")
        state["queue"] *= repeat(2)
        return len(results)

    for fn in (collect, jit(collect)):
        found, state = ["seed"], {"seen": [], "queue": collections.deque("q")}
        assert fn(found, state, "a") == 3
        assert found == ["seed", "a1", "a2"]
        assert state == {"seen": ["a!1", "a!2"], "queue": collections.deque("qq")}


def test_or_ing_an_op_result_into_a_set_changes_that_set() -> None:
    def gather(known: set[str], words: list[str]) -> set[str]:
        for word in words:
            known |= tags(word)
        return known

    for fn in (gather, jit(gather)):
        known = {"x"}
        assert fn(known, ["a", "b"]) is known
        assert known == {"x", "a", "A", "b", "B"}


def test_a_later_change_through_an_op_results_own_name_waits_for_its_readers() -> None:
    def chat(user: str) -> str:
        messages = history(user)
        context = {"messages": messages}
        messages += ["q1"]
        first = reply(context["messages"])
        messages += ["q2"]  # plain Python: reply has finished before this line
        return first

    assert jit(chat)("u") == chat("u") == "reply to 2 messages"


@op
def chunk(first: int) -> array.array[int]:
    time.sleep(0.005)
    return array.array("i", [first, first + 1])


@op
def raw(text: str) -> bytes:
    return text.encode()


class Buffers:
    def __init__(self) -> None:
        self.numbers = array.array("i")
        self.data = bytearray()
        self.queue: collections.deque[int] = collections.deque()


def fill_attributes(firsts: list[int]) -> Any:
    buffers = Buffers()
    held = (buffers.numbers, buffers.data, buffers.queue)
    for first in firsts:
        buffers.numbers += chunk(first)
        buffers.data += raw(str(first))
        buffers.queue += chunk(first)
    return [list(item) for item in held], held[0] is buffers.numbers, held[1] is buffers.data


def test_every_kind_of_container_held_by_an_attribute_is_extended_in_place() -> None:
    jitted = jit(fill_attributes)
    for firsts in ([1, 5], [7]):
        assert jitted(firsts) == fill_attributes(firsts)
