"""What travels with an op to a Dask worker and back keeps plain Python's meaning.

This module is shipped by value (as a user's script would be): its ops and classes
travel with each task.
"""

from __future__ import annotations

import sys
from typing import Any

import cloudpickle
import pytest

from ember.xcs import ArgumentChangedError, Config, jit, op
from ember.xcs.distributed import DaskExecutor

cloudpickle.register_pickle_by_value(sys.modules[__name__])


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


@op
def charge(budget: Budget, cost: int) -> int:
    budget.spent += cost
    return budget.spent


@op
def pick(candidates: list[Candidate]) -> Candidate:
    return max(candidates, key=lambda c: c.score)


@op
def pick_dict(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    return max(candidates, key=lambda c: c["score"])


@op
def best_score(candidates: list[Candidate]) -> int:
    return max(c.score for c in candidates)


def spend(budget: Budget, costs: list[int]) -> list[int]:
    return [charge(budget, cost) for cost in costs]


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


def test_an_op_changing_an_object_it_was_given_fails_instead_of_losing_it(
        healthy: DaskExecutor) -> None:
    budget = Budget()
    with pytest.raises(ArgumentChangedError, match=r"op 'charge' changed positional "
                       r"argument 0 \(Budget\) in place, on a Dask worker"):
        jit(spend, config=Config(executor=healthy))(budget, [3, 4])
    assert budget.spent == 0


def test_a_method_op_changing_its_instance_fails_naming_it(healthy: DaskExecutor) -> None:
    with pytest.raises(ArgumentChangedError, match=r"'remember' changed its instance \(Memory\)"):
        jit(chat, config=Config(executor=healthy))(Memory(), ["hi", "yo"])


def test_an_op_reading_objects_runs_as_before(healthy: DaskExecutor) -> None:
    assert jit(lambda cs: best_score(cs), config=Config(executor=healthy))(candidates()) == 3


def test_an_op_handing_back_an_object_it_was_given_gives_the_callers_object(
        healthy: DaskExecutor) -> None:
    config = Config(executor=healthy)
    assert jit(select, config=config)(candidates()) == select(candidates()) == ([False, True], True)
    rows = [{"score": 1}, {"score": 3}]
    assert jit(select_dict, config=config)(rows) == ([False, True], True)
    assert rows[1]["chosen"] is True
