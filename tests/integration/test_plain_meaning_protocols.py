"""Code of the user's that Python's own machinery runs keeps its plain meaning.

A ``case`` pattern reads the subject's attributes and items itself, and decides a
sequence or mapping pattern by the type of what it read; a property of the subject's
class may call an op there. Each program runs plainly and jitted, on first and later
calls, and must give the same value, with each op called as often as in plain Python.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from ember.xcs import get_jit_stats, jit, op

CALLS: Counter[str] = Counter()


@op
def parse(text: str) -> dict[str, object]:
    CALLS[text] += 1
    time.sleep(0.003)
    words = text.split()
    return {"intent": words[0], "words": words, "head": {"word": words[0]}}


class Turn:
    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def parsed(self) -> dict[str, object]:
        return parse(self.text)

    @property
    def words(self) -> object:
        return self.parsed["words"]


class Outer:
    __match_args__ = ("turn",)

    def __init__(self, text: str) -> None:
        self.turn = Turn(text)


def route(text: str) -> tuple[object, ...]:
    match Turn(text):
        case Turn(words=["search", *query]):
            return ("search", query)
        case Turn(parsed={"intent": "help"}):
            return ("help",)
        case _:
            return ("chat",)


def nested(text: str) -> tuple[object, ...]:
    match Outer(text):
        case Outer(Turn(parsed={"head": {"word": "go"},
                                "words": [_, where]})):
            return ("go", where)
        case Outer(Turn(words=[*_, "please"] | ["pretty", "please", *_])):
            return ("polite",)
        case Outer(turn=Turn(parsed={"intent": str(intent)})):
            return ("other", intent)
    return ("none",)


@pytest.mark.parametrize("program", [route, nested], ids=lambda p: p.__name__)
def test_a_pattern_on_a_property_that_calls_an_op_matches_as_in_plain_python(program) -> None:
    jitted = jit(program)
    for text in ["search cats dogs", "help me", "hi", "go north", "stop now please",
                 "pretty please stop", "search x"]:
        CALLS.clear()
        plain = program(text)
        plain_calls = dict(CALLS)
        CALLS.clear()
        assert jitted(text) == plain, text
        assert dict(CALLS) == plain_calls, text  # each case's read calls the op again
    reasons = {entry.split(" at ")[0] for entry in get_jit_stats(jitted)["barriers"]}
    assert reasons == {"eager op (match pattern)"}
