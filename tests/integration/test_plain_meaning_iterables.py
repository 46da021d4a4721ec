"""Op results reaching C code through iterators, dict keys and dict subclasses.

Each program is defined in this file (it has source), so it must run once per call:
no glue line twice, no rerun, and the plain-Python result.
"""

from __future__ import annotations

import collections
import json
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op

GLUE: list[str] = []


@op
def tag(key: str) -> str:
    time.sleep(0.002)
    return key.upper()


@op
def size(key: str) -> int:
    time.sleep(0.002)
    return len(key)


@op
def show(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"


def join_generator(items: Iterable[str]) -> str:
    keys = list(items)  # consumes an iterator argument: a second run would see nothing
    GLUE.append("ran")
    return "-".join(tag(k) for k in keys)


def join_reversed(items: Iterable[str]) -> str:
    keys = list(items)
    GLUE.append("ran")
    return "".join(reversed([tag(k) for k in keys]))


def join_values(items: Iterable[str]) -> str:
    keys = list(items)
    GLUE.append("ran")
    return "+".join({k: tag(k) for k in keys}.values())


def map_c_method(items: Iterable[str]) -> list[str]:
    keys = list(items)
    GLUE.append("ran")
    lowered = list(map(str.lower, [tag(k) for k in keys]))
    return lowered + list(filter(str.isalpha, [tag(k) for k in keys]))


def mean_of_generator(items: Iterable[str]) -> float:
    keys = list(items)
    GLUE.append("ran")
    return statistics.mean(size(k) for k in keys)


def lazy_keys(items: Iterable[str]) -> tuple[Any, ...]:
    keys = list(items)
    GLUE.append("ran")
    table = {tag(k): n for n, k in enumerate(keys)}
    return show(table), str(table), sorted(table), json.dumps(table), max(table)


def ordered(items: Iterable[str]) -> str:
    keys = list(items)
    GLUE.append("ran")
    return show(collections.OrderedDict((k, tag(k)) for k in keys))


PROGRAMS = [join_generator, join_reversed, join_values, map_c_method, mean_of_generator,
            lazy_keys, ordered]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_runs_once_with_the_plain_result(program: Callable[[Iterable[str]], Any]) -> None:
    fast = jit(program)
    for keys in (["a", "bb", "c"], ["dd", "e"]):
        GLUE.clear()
        expected = program(iter(keys))
        GLUE.clear()
        assert fast(iter(keys)) == expected
        assert GLUE == ["ran"]
    assert get_jit_stats(fast)["reruns"] == 0
