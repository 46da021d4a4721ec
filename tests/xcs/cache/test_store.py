"""Result stores: round trips, formats, threads and processes, maintenance, clear errors."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ember.models.response import Response, Usage
from ember.xcs import XCSError
from ember.xcs.cache import MISSING, MemoryStore, SQLiteStore, default_path


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "deep" / "dir" / "results.sqlite")


def test_round_trip_creates_the_file_in_wal_mode(store: SQLiteStore) -> None:
    assert store.get("k") is MISSING
    reply = Response("hi", model_id="simulated/a", provider="simulated", usage=Usage.of(1, 2),
                     simulated=True)
    store.put("k", "llm[a]", {"reply": reply, "n": [1, 2]})
    value = store.get("k")
    assert value == {"reply": "hi", "n": [1, 2]}
    assert type(value["reply"]) is Response and value["reply"].usage == Usage.of(1, 2)
    assert store.path.exists()
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_row_in_another_format_is_a_miss_and_is_replaced(store: SQLiteStore) -> None:
    store.put("k", "op", 1)
    db = sqlite3.connect(store.path)
    db.execute("UPDATE results SET format = 999")
    db.commit()
    assert store.get("k") is MISSING
    store.put("k", "op", 2)
    assert store.get("k") == 2


def test_a_value_that_no_longer_unpickles_is_a_miss(store: SQLiteStore) -> None:
    store.put("k", "op", 1)
    db = sqlite3.connect(store.path)
    db.execute("UPDATE results SET value = ?", (b"not a pickle",))
    db.commit()
    assert store.get("k") is MISSING


def test_summary_and_clear(store: SQLiteStore) -> None:
    assert store.summary().entries == 0 and store.clear() == 0  # no file yet: nothing made
    assert not store.path.exists()
    for index in range(3):
        store.put(f"a{index}", "alpha", "x" * 10)
    store.put("b", "beta", "y")
    summary = store.summary()
    assert summary.entries == 4 and summary.by_op == {"alpha": 3, "beta": 1}
    assert summary.value_bytes > 30 and summary.location == str(store.path)
    assert store.clear("alpha") == 3
    assert store.summary().by_op == {"beta": 1}
    assert store.clear() == 1 and store.summary().entries == 0


def test_threads_share_one_store(store: SQLiteStore) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for index in range(50):
                store.put(f"{worker}-{index}", "op", index)
                assert store.get(f"{worker}-{index}") == index
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.summary().entries == 400


def _write_many(path: str, worker: int) -> None:
    target = SQLiteStore(path)
    for index in range(100):
        target.put(f"{worker}-{index}", "op", (worker, index))


def test_processes_write_one_file_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SQLiteStore(path).put("seed", "op", 0)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(path, n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    store = SQLiteStore(path)
    assert store.summary().entries == 401
    assert store.get("3-99") == (3, 99)


def _open_at_once(path: str, start: Any, worker: int) -> None:
    start.wait(30)
    if worker % 2:  # half of them open while the others are already writing
        time.sleep(0.01 * worker)
    target = SQLiteStore(path)
    for index in range(50):
        target.put(f"{worker}-{index}", "op", index)
    assert target.get(f"{worker}-49") == 49


def test_processes_create_one_new_file_at_once(tmp_path: Path) -> None:
    # No process sets the file up first: all of them switch it to WAL at the same time.
    for attempt in range(2):
        path = str(tmp_path / f"new-{attempt}.sqlite")
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(6)
        workers = [context.Process(target=_open_at_once, args=(path, start, n))
                   for n in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
        assert SQLiteStore(path).summary().entries == 6 * 50


def test_stores_pickle_by_path(store: SQLiteStore) -> None:
    store.put("k", "op", "v")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.path == store.path and copy.get("k") == "v"


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(XCSError, match="is not an ember-xcs result cache"):
        SQLiteStore(path).get("k")


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(XCSError, match="cannot create the directory of the result cache"):
        SQLiteStore(blocker / "sub" / "r.sqlite").put("k", "op", 1)


def test_memory_store_returns_copies() -> None:
    store = MemoryStore()
    value = [1, 2]
    store.put("k", "op", value)
    value.append(3)
    first = store.get("k")
    first.append(4)
    assert store.get("k") == [1, 2]
    assert store.summary().entries == 1 and store.clear() == 1


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EMBER_XCS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "ember-xcs" / "results.sqlite"
    monkeypatch.setenv("EMBER_XCS_CACHE", str(tmp_path / "mine.sqlite"))
    assert default_path() == tmp_path / "mine.sqlite"


def test_a_cache_file_deleted_while_the_process_runs_is_set_up_again(tmp_path: Path) -> None:
    """rm results.sqlite in a long-running process: threads that connect afterwards open
    an empty file; the store makes its table again instead of failing."""
    store = SQLiteStore(tmp_path / "results.sqlite")
    store.put("a", "op", 1)
    assert store.get("a") == 1
    (tmp_path / "results.sqlite").unlink()
    results: list[Any] = []

    def fresh_thread() -> None:  # connects after the delete
        store.put("b", "op", 2)
        results.append(store.get("b"))

    worker = threading.Thread(target=fresh_thread)
    worker.start()
    worker.join(30)
    assert results == [2]


class QuotaError(Exception):
    """Pickles (as ``QuotaError(message)``) but does not load: ``__init__`` takes two."""

    def __init__(self, user: str, limit: int) -> None:
        super().__init__(f"{user} is over quota ({limit})")


class Handle:
    def __reduce__(self) -> Any:
        raise ValueError("handles cannot be pickled")


def _chain(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"id": 0, "parent": None}
    for i in range(1, depth):
        node = {"id": i, "parent": node}
    return node


class Unloadable:
    """Pickles, but loading it raises (as a class whose constructor changed since: how
    exceptions pickle depends on what is imported, e.g. ``distributed`` changes it)."""

    def __reduce__(self) -> Any:
        return (_refuse_loading, ())


def _refuse_loading() -> Any:
    raise TypeError("Unloadable() cannot be rebuilt")


def test_a_memory_store_value_that_does_not_load_is_a_dropped_miss() -> None:
    store = MemoryStore()
    store.put("k", "op", {"error": Unloadable()})
    assert store.get("k") is MISSING
    assert store.summary().entries == 0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_result_the_store_cannot_keep_is_returned_and_counted(kind: str, tmp_path: Path
                                                                ) -> None:
    """Pickling may raise anything (a ``__reduce__``'s error, ``RecursionError``), and a
    value may not load back: the call returns what the body returned, as plain Python."""
    from ember.xcs import Config, jit, op
    from ember.xcs.cache import counters, reset_counters

    @op(cache=True)
    def deep(n: int) -> dict[str, Any]:
        return _chain(n)

    @op(cache=True)
    def with_handle(n: int) -> list[Any]:
        return [n, Handle()]

    @op(cache=True)
    def report(user: str) -> dict[str, Any]:
        return {"error": QuotaError(user, 10)}

    def glue(n: int) -> list[Any]:
        return [deep(n)["id"], with_handle(n)[0], str(report("ann")["error"]),
                str(report("ann")["error"])]

    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "r.sqlite")
    reset_counters()
    assert jit(glue, config=Config(result_cache=store))(50_000) == [
        49_999, 50_000, "ann is over quota (10)", "ann is over quota (10)"]
    assert counters()["unstorable"] == 2


def test_a_database_of_another_program_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    other = sqlite3.connect(path)  # its own table that happens to be named results
    other.execute("CREATE TABLE results (run INTEGER, score REAL)")
    other.commit()
    other.close()
    with pytest.raises(XCSError, match="is not an ember-xcs result cache") as raised:
        SQLiteStore(path).get("k")
    assert "['run', 'score']" in str(raised.value)


def test_a_store_damaged_while_in_use_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    store = SQLiteStore(path)
    for index in range(200):
        store.put(f"k{index}", "op", "v" * 5000)
    store.close()
    other = sqlite3.connect(path)
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()
    with path.open("r+b") as data:  # half of it lost (a full disk, a copy cut short)
        data.truncate(path.stat().st_size // 3)
    with pytest.raises(XCSError, match="is not an ember-xcs result cache, or is damaged "
                                       r"\(database disk image is malformed\); point "
                                       r"Config\(result_cache=...\) at another file or delete"):
        store.get("k199")
