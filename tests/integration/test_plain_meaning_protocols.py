"""Code of the user's that Python's own machinery runs keeps its plain meaning.

A ``case`` pattern reads the subject's attributes and items itself, and decides a
sequence or mapping pattern by the type of what it read; a property of the subject's
class may call an op there. Formatting (f-strings, ``%``, ``str.format``, ``print``)
runs the user's ``__str__``, ``__repr__`` or ``__format__``, which may return an op
result kept in an attribute, or call an op, and C code refuses anything but a ``str``.
Each program runs plainly and jitted, on first and later calls, and must give the same
value, with each op called as often as in plain Python and the glue's side effects
happening once.
"""

from __future__ import annotations

import string
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


@op
def summarize(text: str) -> str:
    CALLS[text] += 1
    time.sleep(0.003)
    return f"summary({text})"


class Note:
    def __init__(self, text: str) -> None:
        self.summary = summarize(text)  # an op result kept in an attribute

    def __str__(self) -> str:
        return self.summary

    __repr__ = __str__


class Live:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return summarize(self.text)  # an op called by the special method itself

    def __repr__(self) -> str:
        return "Live:" + summarize(self.text)

    def __format__(self, spec: str) -> str:
        return summarize(spec + self.text)


LOG: list[str] = []


def note_fstring(t: str) -> str:
    LOG.append(t)
    return f"Note: {Note(t)} / {[Note(t + '2')]!s}"


def note_percent(t: str) -> str:
    LOG.append(t)
    pair = "Note: %s, %s" % (Note(t), Note(t + "2"))  # noqa: UP031 - printf is the point
    return pair + "; %s" % Note(t + "3")  # noqa: UP031


def live_fstring(t: str) -> str:
    LOG.append(t)
    return f"{Live(t)} / {Live(t):>8} / {[Live(t)]} / {Live(t)!r}"


def live_format_and_join(t: str) -> str:
    LOG.append(t)
    printf = "%r" % Live(t)  # noqa: UP031 - printf formatting is the point
    return " | ".join([format(Live(t), "<"), "{}".format(Live(t)),  # noqa: UP032
                       str(Live(t)), ", ".join(map(str, [Live(t), Live(t + "2")])),
                       string.Template("$c").substitute(c=Live(t)), printf])


def live_print(t: str) -> None:
    LOG.append(t)
    print(Live(t), Note(t), sep="/")


@pytest.mark.parametrize("program", [note_fstring, note_percent, live_fstring,
                                     live_format_and_join, live_print],
                         ids=lambda p: p.__name__)
def test_special_methods_giving_op_results_format_as_in_plain_python(program, capsys) -> None:
    jitted = jit(program)
    for text in ["x", "y"]:
        CALLS.clear()
        LOG.clear()
        plain = program(text)
        expected = (dict(CALLS), list(LOG), capsys.readouterr().out)
        CALLS.clear()
        LOG.clear()
        assert jitted(text) == plain
        assert (dict(CALLS), list(LOG), capsys.readouterr().out) == expected
    assert get_jit_stats(jitted)["reruns"] == 0  # the glue ran once per call
