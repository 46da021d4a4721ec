"""Result stores: where cached op results live.

``SQLiteStore`` keeps them in one SQLite file (stdlib ``sqlite3``) in WAL mode, so any
number of threads and processes may read and write it at once; every write is its own
transaction, committed before the op's result is handed on, so a batch killed halfway
keeps every result that finished. ``MemoryStore`` keeps them in a dict (tests, and
``Presets.SECURE`` without anything written to disk).

Values are pickled (protocol 5) and stored with ``VALUE_FORMAT``; a row written in
another format, or one that no longer unpickles (its class moved), counts as a miss
and is replaced on the next write. Only successful results are stored, never
exceptions.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ember.xcs.errors import XCSError

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

# pickle, pathlib and sqlite3 are imported where they are used: importing ember.xcs
# must stay fast, and most processes never open a store.

__all__ = [
    "MISSING",
    "VALUE_FORMAT",
    "MemoryStore",
    "ResultStore",
    "SQLiteStore",
    "StoreSummary",
    "default_path",
]

VALUE_FORMAT = 1
"""The layout of stored values (pickle protocol 5); rows in another format are misses."""

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""What ``ResultStore.get`` returns for a key it does not hold."""

_BUSY_TIMEOUT_MS = 30_000
_COLUMNS = frozenset({"key", "op", "format", "value", "created"})


def default_path() -> Path:
    """The file of the default result store.

    ``$EMBER_XCS_CACHE`` when set, else ``$XDG_CACHE_HOME/ember-xcs/results.sqlite``,
    else ``~/.cache/ember-xcs/results.sqlite``.

    Example:
        >>> default_path().name
        'results.sqlite'
    """
    from pathlib import Path

    explicit = os.environ.get("EMBER_XCS_CACHE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
    return Path(base).expanduser() / "ember-xcs" / "results.sqlite"


@dataclass(frozen=True)
class StoreSummary:
    """What a store holds: entry count, bytes of stored values, entries per op."""

    location: str
    entries: int
    value_bytes: int
    by_op: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class ResultStore(Protocol):
    """What the result cache needs from a store (implement it to plug in your own).

    ``persistent`` tells ``Presets.SECURE`` whether values would outlive the process.
    """

    persistent: bool

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or ``MISSING``."""
        ...

    def put(self, key: str, op: str, value: Any) -> None:
        """Store ``value`` under ``key`` (``op`` names the op, for summaries)."""
        ...


class MemoryStore:
    """A result store in a dict: per process, gone when the process ends.

    It keeps every result until ``clear()``; for long batches use ``SQLiteStore``.

    Example:
        >>> store = MemoryStore()
        >>> store.put("k", "my_op", [1, 2])
        >>> store.get("k"), store.get("other") is MISSING
        ([1, 2], True)
    """

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, bytes]] = {}

    def get(self, key: str) -> Any:
        import pickle

        with self._lock:
            entry = self._values.get(key)
        if entry is None:
            return MISSING
        # Stored pickled, so a caller mutating a result cannot change what a later
        # hit returns (the same as reading it back from disk).
        try:
            return pickle.loads(entry[1])
        except Exception:  # pickles but does not load (an exception whose __init__
            with self._lock:  # takes other arguments): a miss; the next put replaces it
                if self._values.get(key) is entry:
                    del self._values[key]
            return MISSING

    def put(self, key: str, op: str, value: Any) -> None:
        import pickle

        data = pickle.dumps(value, protocol=5)
        with self._lock:
            self._values[key] = (op, data)

    def summary(self) -> StoreSummary:
        """Entries, bytes and entries per op."""
        with self._lock:
            entries = list(self._values.values())
        by_op: dict[str, int] = {}
        for op, _ in entries:
            by_op[op] = by_op.get(op, 0) + 1
        return StoreSummary("memory", len(entries), sum(len(d) for _, d in entries), by_op)

    def clear(self, op: str | None = None) -> int:
        """Remove every entry (or those of ``op``); returns how many were removed."""
        with self._lock:
            doomed = [k for k, (name, _) in self._values.items() if op is None or name == op]
            for key in doomed:
                del self._values[key]
        return len(doomed)

    def __repr__(self) -> str:
        return "MemoryStore()"


class SQLiteStore:
    """A result store in one SQLite file, safe across threads and processes.

    The file and its directory are created on first use. Each thread opens its own
    connection (``sqlite3`` connections are not shared between threads); a process
    made by ``fork`` opens fresh ones. WAL journaling lets readers proceed while one
    writer commits; a writer waits up to 30 s for another.

    Args:
        path: the database file.

    Raises:
        XCSError: (on first use) the file cannot be created or is not a result store.

    Example:
        >>> import tempfile, os
        >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "r.sqlite"))
        >>> store.put("k", "my_op", {"answer": 42})
        >>> store.get("k")
        {'answer': 42}
    """

    persistent = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from pathlib import Path

        self.path = Path(path).expanduser()
        self._local = threading.local()
        self._setup_lock = threading.Lock()
        self._ready = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (SQLiteStore, (str(self.path),))  # connections do not travel

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- connections -------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is not None and local.pid == os.getpid():
            return connection
        if not self._ready or getattr(local, "pid", os.getpid()) != os.getpid():
            with self._setup_lock:
                self._setup()
        connection = self._open()
        local.connection, local.pid = connection, os.getpid()
        return connection

    def _open(self) -> sqlite3.Connection:
        import sqlite3  # here: most processes never open a store

        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # NORMAL under WAL: a killed process loses nothing that was committed.
            connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as error:  # (before its base class, below)
            raise XCSError(
                f"cannot open the result cache {self.path}: {error}. Check the path and its "
                "permissions, or choose another with Config(result_cache=...) or "
                "EMBER_XCS_CACHE."
            ) from error
        except sqlite3.DatabaseError as error:
            raise self._not_a_store(error) from error
        return connection

    def _not_a_store(self, error: BaseException) -> XCSError:
        return XCSError(
            f"{self.path} is not an ember-xcs result cache, or is damaged ({error}); point "
            "Config(result_cache=...) at another file or delete this one."
        )

    def _setup(self) -> None:
        import sqlite3

        if self._ready:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise XCSError(
                f"cannot create the directory of the result cache {self.path}: {error}."
            ) from error
        connection = self._open()
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        try:
            while True:
                try:
                    self._create(connection)
                    break
                except sqlite3.OperationalError as error:
                    # Processes opening a new file at once contend for the switch to WAL,
                    # which SQLite answers with "locked" at once instead of waiting.
                    if _busy(error) and time.monotonic() < deadline:
                        time.sleep(0.02)
                        continue
                    raise XCSError(f"result cache {self.path}: {error}") from error
                except sqlite3.DatabaseError as error:
                    raise self._not_a_store(error) from error
        finally:
            connection.close()
        self._ready = True

    @staticmethod
    def _create(connection: sqlite3.Connection) -> None:
        import sqlite3

        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":  # WAL is kept in the file: the first opener sets it
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, op TEXT NOT NULL, "
            "format INTEGER NOT NULL, value BLOB NOT NULL, created REAL NOT NULL)"
        )
        columns = {row[1] for row in connection.execute("PRAGMA table_info(results)")}
        if not _COLUMNS.issubset(columns):  # another program's table of that name
            raise sqlite3.DatabaseError(f"its results table has the columns {sorted(columns)}")
        connection.execute("CREATE INDEX IF NOT EXISTS results_op ON results (op)")

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Connection]:
        import sqlite3

        connection = self._connection()
        try:
            yield connection
        except sqlite3.Error as error:
            if type(error) is sqlite3.DatabaseError:  # "malformed": damaged since it opened
                raise self._not_a_store(error) from error
            raise XCSError(f"result cache {self.path}: {error}") from error

    # -- the store protocol -------------------------------------------------------------

    def _again_if_deleted(self, action: Callable[[sqlite3.Connection], Any]) -> Any:
        """``action(connection)``; once more after setting the file up again if it was
        deleted (or replaced) while the process ran: a connection opened since then
        finds an empty file (``no such table``)."""
        import sqlite3

        try:
            with self._cursor() as db:
                return action(db)
        except XCSError as error:
            cause = error.__cause__
            if not (isinstance(cause, sqlite3.OperationalError)
                    and "no such table" in str(cause)):
                raise
        with self._setup_lock:
            self._ready = False
            self._setup()
        with self._cursor() as db:
            return action(db)

    def get(self, key: str) -> Any:
        row = self._again_if_deleted(lambda db: db.execute(
            "SELECT format, value FROM results WHERE key = ?", (key,)).fetchone())
        if row is None or row[0] != VALUE_FORMAT:
            return MISSING
        import pickle

        try:
            return pickle.loads(row[1])
        except Exception:  # its class moved or changed: recompute it (put replaces the row)
            return MISSING

    def put(self, key: str, op: str, value: Any) -> None:
        import pickle

        data = pickle.dumps(value, protocol=5)
        self._again_if_deleted(lambda db: db.execute(
            "INSERT OR REPLACE INTO results (key, op, format, value, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, op, VALUE_FORMAT, data, time.time()),
        ))

    # -- maintenance --------------------------------------------------------------------

    def summary(self) -> StoreSummary:
        """Entries, bytes of stored values and entries per op."""
        if not self.path.exists():
            return StoreSummary(str(self.path), 0, 0, {})
        with self._cursor() as db:
            rows = db.execute(
                "SELECT op, COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM results GROUP BY op"
            ).fetchall()
        return StoreSummary(str(self.path), sum(r[1] for r in rows), sum(r[2] for r in rows),
                            {r[0]: r[1] for r in rows})

    def clear(self, op: str | None = None) -> int:
        """Remove every entry (or those of ``op``); returns how many were removed."""
        if not self.path.exists():
            return 0
        with self._cursor() as db:
            if op is None:
                removed = db.execute("DELETE FROM results").rowcount
            else:
                removed = db.execute("DELETE FROM results WHERE op = ?", (op,)).rowcount
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(removed)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _busy(error: BaseException) -> bool:
    """Whether an ``OperationalError`` says another connection holds the lock."""
    text = str(error).lower()
    return "locked" in text or "busy" in text
