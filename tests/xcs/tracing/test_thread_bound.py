"""Tests for tracing.thread_bound: an op reaching a sqlite3 connection of the glue's
thread runs at its call, on that thread, as in plain Python (not on a worker thread,
where sqlite3 refuses it)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import explain, jit, op

DB = sqlite3.connect(":memory:")
DB.execute("create table notes (text text)")


@op
def count_rows(con: sqlite3.Connection) -> int:
    time.sleep(0.01)
    return int(con.execute("select count(*) from notes").fetchone()[0])


@op
def search(word: str) -> list[Any]:
    time.sleep(0.01)
    return DB.execute("select text from notes where text like ? order by text",
                      (f"%{word}%",)).fetchall()


@op
def count_in(tables: dict[str, Any]) -> int:
    time.sleep(0.01)
    return int(tables["db"].execute("select count(*) from notes").fetchone()[0])


class Store:
    def __init__(self) -> None:
        self.con = sqlite3.connect(":memory:")
        self.con.execute("create table notes (text text)")

    @op
    def size(self, extra: int) -> int:
        time.sleep(0.01)
        return int(self.con.execute("select count(*) from notes").fetchone()[0]) + extra


@op
def size_of(store: Store) -> int:
    time.sleep(0.01)
    return int(store.con.execute("select count(*) from notes").fetchone()[0])


def _by_argument(texts: list[str]) -> Any:
    con = sqlite3.connect(":memory:")
    con.execute("create table notes (text text)")
    con.executemany("insert into notes values (?)", [(t,) for t in texts])
    first = count_rows(con)
    con.execute("insert into notes values ('late')")
    return first, count_rows(con), count_in({"db": con})


def _by_global(texts: list[str]) -> Any:
    DB.executemany("insert into notes values (?)", [(t,) for t in texts])
    found = search("a")
    DB.execute("delete from notes")
    return found


def _by_object(texts: list[str]) -> Any:
    store = Store()
    store.con.executemany("insert into notes values (?)", [(t,) for t in texts])
    return store.size(1), size_of(store)


def _by_closure(texts: list[str]) -> Any:
    con = sqlite3.connect(":memory:")
    con.execute("create table notes (text text)")

    @op
    def count() -> int:
        time.sleep(0.01)
        return int(con.execute("select count(*) from notes").fetchone()[0])

    con.executemany("insert into notes values (?)", [(t,) for t in texts])
    return count()


@pytest.mark.parametrize("program", [_by_argument, _by_global, _by_object, _by_closure])
def test_an_op_using_the_glues_connection_runs_on_the_glues_thread(
        program: Callable[..., Any]) -> None:
    expected = program(["ab", "cd", "ca"])
    jitted = jit(program)
    for _ in range(2):  # the first call, and one after jit has learned
        assert jitted(["ab", "cd", "ca"]) == expected


def test_async_glue_runs_it_on_its_own_thread() -> None:
    import asyncio

    async def counted(texts: list[str]) -> Any:
        con = sqlite3.connect(":memory:")
        con.execute("create table notes (text text)")
        con.executemany("insert into notes values (?)", [(t,) for t in texts])
        first = count_rows(con)
        con.execute("delete from notes")
        await asyncio.sleep(0)
        return first, count_rows(con)

    assert asyncio.run(counted(["a", "b"])) == (2, 0)
    assert asyncio.run(jit(counted)(["a", "b"])) == (2, 0)
    assert asyncio.run(jit(counted)(["a", "b", "c"])) == (3, 0)


def test_explain_names_the_reason() -> None:
    program = jit(_by_argument)
    program(["ab"])
    assert "eager op (thread-bound object)" in explain(program)


def test_ops_without_a_connection_still_run_in_parallel() -> None:
    from ember.xcs import get_jit_stats

    @op
    def slow(x: int) -> int:
        time.sleep(0.02)
        return x

    program = jit(lambda: [slow(1), slow(2), slow(3)])
    assert program() == [1, 2, 3]
    assert get_jit_stats(program)["max_parallelism"] == 3


def test_a_call_with_a_deadline_runs_the_op_on_the_glues_thread_too() -> None:
    """A ``Config(timeout=...)`` sends eager ops to worker threads (so the deadline can
    end the call); an op holding a connection of the glue's thread stays on it."""
    from ember.xcs import Config

    def program(texts: list[str]) -> Any:
        return _by_argument(texts)

    expected = program(["a", "b"])
    assert jit(program, config=Config(timeout=30))(["a", "b"]) == expected


def test_a_connection_in_a_slotted_object_is_found_too() -> None:
    import dataclasses

    @dataclasses.dataclass(slots=True)
    class Context:
        db: sqlite3.Connection

    @op
    def rows_in(ctx: Context) -> int:
        time.sleep(0.01)
        return int(ctx.db.execute("select count(*) from notes").fetchone()[0])

    def program(texts: list[str]) -> Any:
        con = sqlite3.connect(":memory:")
        con.execute("create table notes (text text)")
        con.executemany("insert into notes values (?)", [(t,) for t in texts])
        return rows_in(Context(con))

    assert program(["a", "b"]) == 2
    assert jit(program)(["a", "b"]) == 2
