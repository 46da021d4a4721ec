"""What an op run in another process prints, written to the caller's streams.

In plain Python (and on the thread engine) an op's ``print`` writes to the caller's
``sys.stdout``: a notebook cell, a ``redirect_stdout`` buffer, pytest's capture. A
worker process has streams of its own: a Dask worker's go to the terminal it was
started from, so the text lands there, in no order, and never where the program
reads its output. So while a shipped op runs, what it writes to ``sys.stdout`` and
``sys.stderr`` (from its own thread, and from the coroutines and ops it starts, which
copy its context) is kept in order, travels back with its outcome, and is written to
the caller's streams before the result is handed on (``replay``), whether the op
returned or raised.

Writes that bypass ``sys.stdout`` (``os.write(1, ...)``, a subprocess, a logging
handler made before the op ran, which holds the stream it was given) are not kept.

A process pool's worker (which runs one op at a time) also keeps the op's warnings,
every one (``captured(warnings=True)``): ``replay`` issues them in the caller, where
its filters decide as for a warning of the op in plain Python (shown once per line
under the default filter, recorded by ``catch_warnings(record=True)``, raised under
``"error"``), instead of each worker showing them by its own copy of the filters.

Example:
    >>> with captured() as chunks:
    ...     print("from the op")
    >>> chunks  # print writes the text, then its end
    [(1, 'from the op'), (1, '\\n')]
    >>> replay(chunks)
    from the op
"""

from __future__ import annotations

import contextvars
import pickle
import sys
import threading
import warnings as _warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Chunks", "Filters", "caller_filters", "captured", "replay"]

# (1: stdout, 2: stderr; the text), or (3, a warning: message, category, file, line), in
# the order written
Chunks = list[tuple[int, Any]]
_WARNING = 3

_chunks: contextvars.ContextVar[Chunks | None] = contextvars.ContextVar(
    "ember_xcs_captured", default=None)
_lock = threading.Lock()
_STREAMS = ((1, "stdout"), (2, "stderr"))


class _Routed:
    """Stands in for ``sys.stdout`` or ``sys.stderr`` in a process that runs shipped
    ops: a write made while an op's output is being kept goes to it, any other to the
    stream it replaced (everything else is that stream's)."""

    def __init__(self, index: int, original: Any) -> None:
        self._index = index
        self._original = original

    def write(self, text: str) -> Any:
        chunks = _chunks.get()
        if chunks is None:  # what the stream returns, as it is (a stream-like may give None)
            return self._original.write(text)
        if not isinstance(text, str):  # as a text stream says it
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        chunks.append((self._index, text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _chunks.get() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def _route() -> None:
    """Put ``_Routed`` in place of this process's streams (again, if code replaced one)."""
    with _lock:
        for index, name in _STREAMS:
            current = getattr(sys, name)
            if current is not None and not isinstance(current, _Routed):
                setattr(sys, name, _Routed(index, current))


# The warning filters of the caller, sent with an op to a worker process (``captured``):
# (action, message pattern, category, module pattern, line), "" for any.
Filters = tuple[tuple[str, str, Any, str, int], ...]


def caller_filters() -> Filters | None:
    """This process's warning filters as they are now, for a worker to run an op under;
    ``None`` when one names a category that cannot be sent (a class made in a function)."""
    filters = tuple((action, _pattern(message), category, _pattern(module), lineno)
                    for action, message, category, module, lineno in _warnings.filters)
    try:
        pickle.dumps(filters)
    except Exception:
        return None
    return filters


def _pattern(pattern: Any) -> str:
    return "" if pattern is None else str(getattr(pattern, "pattern", pattern))


def _use_filters(filters: Filters | None) -> None:
    """The worker's filters while an op runs: the caller's, where a warning the caller
    raises (``"error"``) or drops (``"ignore"``) is raised or dropped inside the op, as in
    plain Python (the op may catch it); every other one is kept, and the caller's own
    filters and registry decide whether to show it when ``replay`` issues it again."""
    if filters is None:
        _warnings.simplefilter("always")
        return
    _warnings.resetwarnings()
    for action, message, category, module, lineno in reversed(filters):
        kept = action if action in ("error", "ignore") else "always"
        _warnings.filterwarnings(kept, message, category, module, lineno)  # type: ignore[arg-type]


@contextmanager
def captured(warnings: bool = False, filters: Filters | None = None) -> Iterator[Chunks]:
    """Keep what is written to ``sys.stdout`` and ``sys.stderr`` in this context during
    the block, in order, instead of writing it (for ``replay`` in the caller); with
    ``warnings``, every warning issued in the block too, under the caller's ``filters``
    (``_use_filters``; the process's filters and ``showwarning`` are replaced meanwhile:
    only where one op runs at a time)."""
    _route()
    chunks: Chunks = []
    token = _chunks.set(chunks)
    try:
        if not warnings:
            yield chunks
            return
        with _warnings.catch_warnings():
            _use_filters(filters)
            _warnings.showwarning = _keep_warning
            yield chunks
    finally:
        _chunks.reset(token)


def _keep_warning(message: Any, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    chunks = _chunks.get()
    if chunks is not None:
        chunks.append((_WARNING, (str(message), category, filename, lineno)))


def _reissue(message: str, category: type[Warning], filename: str, lineno: int) -> None:
    """Issue a warning kept in another process here, as the op's ``warnings.warn`` would
    have: under this process's filters, and the registry of the module whose file it
    names (where "show once per line" is remembered)."""
    module = next((m for m in list(sys.modules.values())
                   if getattr(m, "__file__", None) == filename), None)
    registry = vars(module).setdefault("__warningregistry__", {}) if module else None
    _warnings.warn_explicit(message, category, filename, lineno,
                            module=module.__name__ if module else None, registry=registry)


def replay(chunks: Chunks | tuple[tuple[int, Any], ...]) -> None:
    """Write what an op printed in another process to this process's streams, as its
    ``print`` would have here. A stream that is gone or closed takes nothing; any other
    error of a write (text the stream's encoding cannot hold, a stream that takes only
    bytes) is raised, as the op's ``print`` would have raised it (the caller reports it
    as the op's error)."""
    for index, text in chunks:
        if index == _WARNING:
            _reissue(*text)
            continue
        stream = sys.stdout if index == 1 else sys.stderr
        if stream is None:
            continue
        try:
            stream.write(text)
        except UnicodeError:  # a ValueError, but the op's print would have raised it
            raise
        except (OSError, ValueError):  # closed: as print to a closed stream, nothing shows
            continue
