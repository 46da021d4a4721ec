"""What travels with an op to a Dask worker and back keeps plain Python's meaning.

This module is shipped by value (as a user's script would be): its ops and classes
travel with each task.
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest

from ember.xcs import ArgumentChangedError, Config, SerializationError, jit, op
from ember.xcs.cache import MemoryStore, counters, reset_counters
from ember.xcs.distributed import DaskExecutor, dask_executor

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


# -- an op given a list, dict or set is named as itself ----------------------------------


@op
def summarize(settings: dict[str, Any], text: str) -> str:
    return f"{settings['model']}: {text}"


@op
def stream(settings: dict[str, Any]) -> Iterator[str]:
    return (word for word in settings["words"])


class ToolError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.connection = threading.Lock()


@op
def tool(arguments: dict[str, str]) -> str:
    raise ToolError(f"tool failed on {arguments['q']}")


@op
def batch_total(numbers: list[int]) -> int:
    return sum(numbers)


@op(cache=True, version="1")
def cached_total(numbers: list[int]) -> int:
    return sum(numbers)


def test_an_unpicklable_value_in_a_dict_argument_names_the_op_and_the_key(
        healthy: DaskExecutor) -> None:
    settings = {"model": "m", "lock": threading.Lock()}
    with pytest.raises(SerializationError, match=r"op 'summarize' cannot be sent to a Dask "
                       r"worker: positional argument 0 \(dict\), key 'lock' cannot be pickled"):
        jit(lambda t: summarize(settings, t), config=Config(executor=healthy))("hi")


def test_messages_from_the_worker_name_the_op_given_a_container(healthy: DaskExecutor) -> None:
    config = Config(executor=healthy)
    with pytest.raises(SerializationError, match="op 'stream' returned a generator"):
        jit(lambda t: list(stream({"words": t.split()})), config=config)("a b")
    with pytest.raises(ToolError) as caught:
        jit(lambda t: tool({"q": t}), config=config)("x")
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "running op 'tool'" in notes and "invoke_watched" not in notes


def test_dask_task_keys_name_the_op_given_a_container(healthy: DaskExecutor) -> None:
    assert jit(lambda xs: batch_total(xs), config=Config(executor=healthy))([1, 2]) == 3
    prefixes = healthy.client.run_on_scheduler(
        lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "batch_total" in prefixes and "invoke_watched" not in prefixes


def test_the_result_cache_is_the_callers_for_an_op_given_a_container(
        healthy: DaskExecutor) -> None:
    store = MemoryStore()
    reset_counters()
    jit(lambda xs: cached_total(xs), config=Config(executor=healthy, result_cache=store))([1, 2])
    assert jit(lambda xs: cached_total(xs), config=Config(result_cache=store))([1, 2]) == 3
    assert counters()["by_op"]["cached_total"]["hits"] == 1  # stored here by the Dask call


# -- tracebacks name the op's file -------------------------------------------------------


@op
def parse(text: str) -> int:
    fields = text.split(",")
    return int(fields[1])


def test_a_traceback_from_a_worker_names_the_ops_file_and_line(healthy: DaskExecutor) -> None:
    with pytest.raises(ValueError) as caught:
        jit(lambda t: parse(t), config=Config(executor=healthy))("b,x")
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (last.filename, last.name, last.line) == (__file__, "parse", "return int(fields[1])")


def test_code_shipped_by_value_keeps_its_file_nested_code_too() -> None:
    from ember.xcs.distributed._pickling import CallPickler

    def outer() -> Any:
        return lambda: sys._getframe().f_code.co_filename

    buffer = io.BytesIO()
    CallPickler(buffer, cloudpickle.DEFAULT_PROTOCOL).dump(outer)
    copy = pickle.loads(buffer.getvalue())
    assert copy.__code__.co_filename == __file__ and copy()() == __file__


# -- exceptions keep their slots ----------------------------------------------------------


class SlotError(Exception):
    __slots__ = ("retry_after",)


@op
def refuse(x: int) -> int:
    error = SlotError(f"quota exceeded for {x}")
    error.retry_after = 30
    raise error


def test_an_exceptions_slot_attributes_come_back_from_thread_and_process_workers(
        healthy: DaskExecutor) -> None:
    with dask_executor(n_workers=1, processes=False) as in_process:
        for executor in (in_process, healthy):
            with pytest.raises(SlotError, match="quota exceeded for 1") as caught:
                jit(lambda x: refuse(x), config=Config(executor=executor))(1)
            assert caught.value.retry_after == 30
