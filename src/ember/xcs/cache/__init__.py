"""The persistent result cache: answers an op call from a store when it ran before.

Opt in per op with ``@op(cache=True)``, per call tree with ``Config(result_cache=...)``
or ``with ember.xcs.cache.use(...)``; ops with ``cache=None`` (the setting meant for
model calls) are cached whenever a result cache is active. A call is a hit when the
same op (its identity and version, see ``identity``) was called with canonically equal
arguments before; the stored value is returned and the body does not run. Results are
kept in an SQLite file (``SQLiteStore``; WAL, safe across
threads and processes, every result committed as soon as it exists, so a batch that
crashed resumes without paying for finished items) or in memory (``MemoryStore``).

This is not ``Config.cache``: that one caches the *analysis* of graphs (parallel groups,
critical path) and never stores results.

Example:
    >>> import os, tempfile
    >>> from ember.xcs import op
    >>> path = os.path.join(tempfile.mkdtemp(), "results.sqlite")
    >>> calls = []
    >>> @op(cache=path, version="1")
    ... def embed(text):
    ...     calls.append(text)
    ...     return [len(text), text.count("a")]
    >>> embed("banana"), embed("banana"), len(calls)
    ([6, 3], [6, 3], 1)
"""

from ember.xcs.cache.counters import counters, reset_counters
from ember.xcs.cache.identity import op_identity
from ember.xcs.cache.keys import UncacheableError, result_key
from ember.xcs.cache.scope import CacheScope, active, open_store, use
from ember.xcs.cache.store import (
    MISSING,
    VALUE_FORMAT,
    MemoryStore,
    ResultStore,
    SQLiteStore,
    StoreSummary,
    default_path,
)

__all__ = [
    "MISSING",
    "VALUE_FORMAT",
    "CacheScope",
    "MemoryStore",
    "ResultStore",
    "SQLiteStore",
    "StoreSummary",
    "UncacheableError",
    "active",
    "counters",
    "default_path",
    "op_identity",
    "open_store",
    "reset_counters",
    "result_key",
    "use",
]
