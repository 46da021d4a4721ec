"""Calls pickled for a worker process: a change the op makes to what it was given fails
loudly, and what it hands back of it is the caller's own object, as in plain Python."""

from __future__ import annotations

import collections
import threading
from typing import Any

import pytest

from ember.xcs import ArgumentChangedError, Config, jit, op
from ember.xcs.engine.processes import register_for_processes
from ember.xcs.engine.shipped import Arrived, ResultPickler, parts_of, send
from ember.xcs.ops import Op

PROCESS = Config(executor="process")


class Budget:
    def __init__(self) -> None:
        self.spent = 0


class Memory:
    def __init__(self) -> None:
        self.turns: list[str] = []

    @op
    def remember(self, message: str) -> int:
        self.turns.append(message)
        return len(self.turns)


class Candidate:
    def __init__(self, name: str, score: int) -> None:
        self.name, self.score, self.chosen = name, score, False


class Scorer:
    """Keeps a cache for itself, left out of its pickle: not a change of its state."""

    def __init__(self) -> None:
        self.weight = 2
        self.memo: dict[int, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"weight": self.weight, "memo": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@op
def charge(budget: Budget, cost: int) -> int:
    budget.spent += cost
    return budget.spent


@op(effect=True)
def charge_in_order(budget: Budget, cost: int) -> int:
    budget.spent += cost
    return budget.spent


@op
def pick(candidates: list[Candidate]) -> Candidate:
    return max(candidates, key=lambda c: c.score)


@op
def pick_dict(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    return max(candidates, key=lambda c: c["score"])


@op
def pair(first: Any, second: Any) -> dict[str, Any]:
    return {"both": [first, second], "first": first, "scores": (first.score, second.score)}


@op
def total(candidates: list[Candidate], scorer: Scorer) -> int:
    for c in candidates:
        scorer.memo[c.score] = c.score * scorer.weight
    return sum(scorer.memo.values())


@op
def hold_lock(budget: Budget) -> int:
    budget.lock = threading.Lock()  # type: ignore[attr-defined]
    return 1


def spend(budget: Budget, costs: list[int]) -> list[int]:
    return [charge(budget, cost) for cost in costs]


def spend_in_order(budget: Budget, costs: list[int]) -> list[int]:
    return [charge_in_order(budget, cost) for cost in costs]


def chat(memory: Memory, messages: list[str]) -> list[int]:
    return [memory.remember(message) for message in messages]


def select(candidates: list[Candidate]) -> tuple[list[bool], bool]:
    best = pick(candidates)
    best.chosen = True  # mark the winner in place
    return [c.chosen for c in candidates], best is candidates[1]


def select_dict(candidates: list[dict[str, Any]]) -> tuple[list[bool], bool]:
    best = pick_dict(candidates)
    best["chosen"] = True
    return [c.get("chosen", False) for c in candidates], best is candidates[1]


def candidates() -> list[Candidate]:
    return [Candidate("a", 1), Candidate("b", 3)]


# -- changes are caught on the worker --------------------------------------------------


def test_an_op_changing_an_object_it_was_given_fails_naming_the_op_and_argument() -> None:
    budget = Budget()
    with pytest.raises(ArgumentChangedError, match=r"op 'charge' changed positional "
                       r"argument 0 \(Budget\) in place, on a worker process") as caught:
        jit(spend, config=PROCESS)(budget, [3, 4])
    assert "effect=True" in str(caught.value)
    assert budget.spent == 0  # nothing went on as if the change had been made


def test_a_method_op_changing_its_instance_fails_naming_it() -> None:
    memory = Memory()
    with pytest.raises(ArgumentChangedError, match=r"'remember' changed its instance \(Memory\)"):
        jit(chat, config=PROCESS)(memory, ["hi", "yo"])


def test_an_object_that_no_longer_pickles_after_the_body_is_a_change() -> None:
    with pytest.raises(ArgumentChangedError, match="hold_lock"):
        jit(lambda b: hold_lock(b), config=PROCESS)(Budget())


def test_effect_ops_change_the_callers_objects_as_plain_python_does() -> None:
    plain, budget = spend_in_order(Budget(), [3, 4]), Budget()
    assert jit(spend_in_order, config=PROCESS)(budget, [3, 4]) == plain == [3, 7]
    assert budget.spent == 7


def test_reading_objects_and_a_cache_left_out_of_the_pickle_are_no_change() -> None:
    scorer = Scorer()
    assert jit(lambda cs, s: total(cs, s), config=PROCESS)(candidates(), scorer) == 8


# -- what the op hands back of its arguments is the caller's -----------------------------


def test_an_op_handing_back_an_object_it_was_given_gives_the_callers_object() -> None:
    plain = select(candidates())
    assert jit(select, config=PROCESS)(candidates()) == plain == ([False, True], True)
    rows = [{"score": 1}, {"score": 3}]
    assert jit(select_dict, config=PROCESS)(rows) == select_dict([{"score": 1}, {"score": 3}])
    assert rows[1]["chosen"] is True


def test_objects_handed_back_inside_a_new_result_are_the_callers_at_any_depth() -> None:
    first, second = candidates()
    result = jit(lambda a, b: pair(a, b), config=PROCESS)(first, second)
    assert result["both"][0] is first and result["both"][1] is second
    assert result["first"] is first and result["scores"] == (1, 3)


# -- the pieces, in one process --------------------------------------------------------


def _shipped(fn: Op, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` sent, run and brought back as a process pool does."""
    from multiprocessing.reduction import ForkingPickler

    register_for_processes(type(fn))
    sent = send(ForkingPickler, fn.invoke, (args, kwargs), {})
    arrived = Arrived(sent.payload)
    value = arrived.run(fn.name, "here", ForkingPickler.dumps)
    return sent.load_result(arrived.pickle_result(value, ResultPickler))


def test_the_parts_are_the_ops_arguments_that_are_not_atoms_and_its_instance() -> None:
    memory, budget = Memory(), Budget()
    labels = [label for label, _ in parts_of(charge.invoke, ((budget, 3), {"x": []}), {})]
    assert labels == ["positional argument 0 (Budget)", "keyword argument 'x' (list)"]
    bound = memory.remember
    assert [label for label, _ in parts_of(bound.invoke, (("hi",), {}), {})] == \
        ["its instance (Memory)"]
    assert parts_of(len, ((budget,), {}), {}) == []  # not an op's invoke: nothing


def test_a_round_trip_returns_the_callers_objects_and_new_ones_as_copies() -> None:
    first, second = candidates()
    result = _shipped(pair, first, second)
    assert result["first"] is first and result["both"] == [first, second]
    assert _shipped(pick, [first, second]) is second


@op
def count_of(counts: Any) -> int:
    return counts["missing"]  # a missing key of a defaultdict: reading it inserts it


def test_a_changed_defaultdict_says_why() -> None:
    with pytest.raises(ArgumentChangedError, match="reading a missing key of a defaultdict"):
        _shipped(count_of, collections.defaultdict(int))
