"""A leaf Operator as one op (``Operator.as_op`` in ``ember.operators.base``): the op is
made once per operator and XCS reads the user's ``forward``, as it reads an ``@op``."""

from __future__ import annotations

import copy
import os
import pickle
import threading
import time
from typing import Any

import pytest

from ember.api.operators import Operator
from ember.xcs import ArgumentChangedError, jit

log: list[str] = []


class Plan:
    def __init__(self, steps: list[str]) -> None:
        self.steps = list(steps)

    def update(self, step: str) -> None:  # a dict method's name, with an effect
        log.append(f"update {step}")
        self.steps.append(step)


class Planner(Operator):
    leaf = True

    def forward(self, goal: str) -> Plan:
        time.sleep(0.02)
        return Plan([goal])


def _made(goal: str) -> Plan:  # XCS cannot tell the class from forward's code
    return Plan([goal])


class QuietPlanner(Operator):
    leaf = True

    def forward(self, goal):  # type: ignore[no-untyped-def]  # not annotated
        time.sleep(0.02)
        return _made(goal)


def _planned(planner: Operator, goal: str) -> list[str]:
    plan = planner(goal)
    plan.update("review")  # a method of the user's class: runs here, as in plain Python
    log.append("after update")
    result: list[str] = plan.steps
    return result


def test_a_method_of_the_annotated_result_class_runs_where_plain_python_runs_it() -> None:
    planner = Planner()
    fast = jit(_planned)
    for goal in ("g1", "g2", "g3"):
        log.clear()
        assert _planned(planner, goal) == [goal, "review"]
        plain = list(log)
        log.clear()
        assert fast(planner, goal) == [goal, "review"]
        assert log == plain == ["update review", "after update"]


def test_the_result_class_is_known_from_the_previous_result() -> None:
    planner = QuietPlanner()
    fast = jit(_planned)
    fast(planner, "first")  # the class is not known before the first result
    for goal in ("g2", "g3"):
        log.clear()
        assert fast(planner, goal) == [goal, "review"]
        assert log == ["update review", "after update"]


STYLE = "plain"


class Card:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"{STYLE}:{self.text}"


class Maker(Operator):
    leaf = True

    def forward(self, text: str) -> Card:
        time.sleep(0.02)
        return Card(text)


maker = Maker()


def _label(text: str) -> str:
    global STYLE
    STYLE = "plain"
    card = maker(text)
    shown = f"<{card}>"  # Card.__str__ reads STYLE now, before the next line rebinds it
    STYLE = "fancy"
    return shown


def test_a_special_method_of_the_result_class_gives_plain_pythons_value() -> None:
    fast = jit(_label)
    assert _label("a") == fast("a") == "<plain:a>"
    assert fast("b") == "<plain:b>"


def test_the_op_is_made_once_per_operator_and_copies_make_their_own() -> None:
    planner, other = Planner(), Planner()
    assert planner.as_op() is planner.as_op()
    assert other.as_op() is not planner.as_op()
    for copied in (copy.copy(planner), copy.deepcopy(planner),
                   pickle.loads(pickle.dumps(planner))):
        assert copied.as_op() is not planner.as_op()
        assert copied.as_op().fn.__self__ is copied  # the copy's op calls the copy
        assert copied("x").steps == ["x"]


def test_threads_asking_first_share_one_op() -> None:
    planner = Planner()
    barrier = threading.Barrier(8)
    found: list[Any] = []

    def ask() -> None:
        barrier.wait()
        found.append(planner.as_op())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and all(made is found[0] for made in found)


def test_the_op_pickles_as_a_call_of_the_operator() -> None:
    made = pickle.loads(pickle.dumps(Planner().as_op()))
    assert made.run("y").steps == ["y"]


TONE = "polite"


class Writer(Operator):
    leaf = True

    def forward(self, topic: str) -> str:
        time.sleep(0.02)
        return f"{topic}, {TONE}, by {os.environ.get('EMBER_TEST_AUTHOR')}"


writer = Writer()


def _write(topic: str) -> str:
    global TONE
    TONE = "polite"
    os.environ["EMBER_TEST_AUTHOR"] = "ann"
    text: str = writer(topic)
    TONE = "angry"  # waits for the op reading TONE, as for an @op function
    os.environ["EMBER_TEST_AUTHOR"] = "bob"
    return text


def test_forward_reading_a_global_and_os_environ_is_held_like_an_op_function() -> None:
    fast = jit(_write)
    try:
        assert _write("cats") == fast("cats") == "cats, polite, by ann"
        assert fast("dogs") == "dogs, polite, by ann"
    finally:
        os.environ.pop("EMBER_TEST_AUTHOR", None)


def _write_nearby(topic: str) -> str:
    tone = "polite"

    class Nearby(Operator):
        leaf = True

        def forward(self, text: str) -> str:
            time.sleep(0.02)
            return f"{text}, {tone}"  # a variable of the enclosing function

    text: str = Nearby()(topic)
    tone = "angry"
    return text


def test_forward_reading_a_variable_of_the_enclosing_function_is_held() -> None:
    fast = jit(_write_nearby)
    assert _write_nearby("cats") == fast("cats") == "cats, polite"
    assert fast("dogs") == "dogs, polite"


class Tagger(Operator):
    leaf = True

    def forward(self, tags: list[str]) -> int:
        tags.append("seen")
        return len(tags)


class EffectTagger(Tagger):
    effect = True


def _tag(tagger: Operator, first: str) -> tuple[int, list[str]]:
    tags = [first]
    count = tagger(tags)
    return count, tags


def test_a_leaf_operator_changing_its_argument_is_told_a_fix_operators_have() -> None:
    with pytest.raises(ArgumentChangedError, match="effect = True in its class"):
        jit(_tag)(Tagger(), "x")
    assert EffectTagger.effect and EffectTagger().as_op().effect
    assert jit(_tag)(EffectTagger(), "x") == _tag(EffectTagger(), "x") == (2, ["x", "seen"])
