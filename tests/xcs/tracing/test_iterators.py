"""An iterator handed to an op is the glue's own (it cannot be copied): the op reads it
at its call, before the glue goes on reading it, as in plain Python."""

from __future__ import annotations

import csv
import io
import time
import types
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def read_header(rows: Any) -> list[str]:
    time.sleep(0.005)
    return next(rows)


@op
def count(items: Any) -> int:
    time.sleep(0.005)
    return sum(1 for _ in items)


@op
def first_of(parts: dict[str, Any]) -> Any:
    time.sleep(0.005)
    return next(parts["source"])


def load(text: str) -> list[dict[str, str]]:
    rows = csv.reader(io.StringIO(text))
    header = read_header(rows)
    return [dict(zip(header, row)) for row in rows]


def count_then_list(items: list[str]) -> tuple[int, list[str]]:
    upper = map(str.upper, items)
    n = count(upper)
    return n, list(upper)


def from_a_generator(items: list[str]) -> tuple[Any, list[str], int]:
    stream = (item * 2 for item in items)
    head = first_of({"source": stream})
    rest = list(stream)
    return head, rest, count(item for item in items if item != "b")


@pytest.mark.parametrize(("program", "argument"), [
    (load, "id,name\n1,a\n2,b\n"),
    (count_then_list, ["a", "b", "c"]),
    (from_a_generator, ["a", "b", "c"]),
])
def test_the_op_reads_the_iterator_before_the_glue_does(program, argument):
    expected = program(argument)
    jitted = jit(program)
    assert jitted(argument) == expected
    assert jitted(argument) == expected  # later calls too


def test_explain_names_the_wait_and_the_fix():
    jitted = jit(count_then_list)
    jitted(["a"])
    report = str(jitted.explain())
    assert "eager op (iterator)" in report and "pass list(...) (or dict(...)) of it" in report


def test_ops_given_lists_still_run_in_parallel():
    @jit
    def fan(groups: list[list[str]]) -> list[int]:
        return [count(group) for group in groups]

    fan([["a"]])
    started = time.perf_counter()
    assert fan([["a"], ["b", "c"]] * 4) == [1, 2] * 4
    assert time.perf_counter() - started < 8 * 0.005 * 0.8


@op
def describe(mapping: Any) -> str:
    time.sleep(0.005)
    return ",".join(f"{key}" for key in mapping)


def views_then_change() -> tuple[str, str, str]:
    d = {"a": 1, "b": 2}
    keys = describe(d.keys())
    proxy = describe(types.MappingProxyType(d))
    values = count(d.values())
    d["c"] = 3
    return keys, proxy, str(values)


def test_an_op_given_a_view_of_a_dict_reads_it_at_its_call():
    jitted = jit(views_then_change)
    assert jitted() == views_then_change() == ("a,b", "a,b", "2")
    assert jitted() == ("a,b", "a,b", "2")
