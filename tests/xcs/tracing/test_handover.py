"""Tests for tracing.handover with sqlite3: the rows a generator gives executemany, and
the results of a function sqlite3 calls, are values when sqlite3 binds them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def ask(question: str) -> str:
    time.sleep(0.01)
    return question.upper()


def _rows_from_a_generator(questions: list[str]) -> Any:
    con = sqlite3.connect(":memory:")
    con.execute("create table answers (q text, a text)")
    con.executemany("insert into answers values (?, ?)", ((q, ask(q)) for q in questions))
    con.executemany("insert into answers values (:q, :a)",
                    ({"q": q + "!", "a": ask(q)} for q in questions))
    return con.execute("select q, a from answers order by q").fetchall()


def _rows_from_a_cursor(questions: list[str]) -> Any:
    con = sqlite3.connect(":memory:")
    cursor = con.cursor()
    cursor.execute("create table answers (a text)")
    cursor.executemany("insert into answers values (?)", ([ask(q)] for q in questions))
    return [row[0] for row in cursor.execute("select a from answers order by a")]


def _a_function_sqlite_calls(questions: list[str]) -> Any:
    con = sqlite3.connect(":memory:")
    con.execute("create table questions (q text)")
    con.executemany("insert into questions values (?)", [(q,) for q in questions])
    con.create_function("ask", 1, lambda q: ask(q))
    return con.execute("select ask(q) from questions order by q").fetchall()


@pytest.mark.parametrize("program", [_rows_from_a_generator, _rows_from_a_cursor,
                                     _a_function_sqlite_calls])
def test_sqlite3_binds_values(program: Callable[..., Any]) -> None:
    expected = program(["b", "a"])
    jitted = jit(program)
    for _ in range(2):  # the first call, and one after jit has learned
        assert jitted(["b", "a"]) == expected
