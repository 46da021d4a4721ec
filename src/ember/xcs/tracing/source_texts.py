"""Where the source text of user code comes from, for the rewriter.

Python keeps no source with a code object: ``linecache`` reads the file, or holds what
IPython, ``doctest`` and the like put there (``tracing.rewrite`` reads it so). Some
common cases need more, and ``source_trees`` yields the texts to try, the likeliest first:

- A file edited since ``linecache`` read it, then loaded again (``importlib.reload``,
  IPython's ``%autoreload``). ``linecache`` still holds the old text, which does not give
  the code that runs: the file is read again.
- A notebook cell that IPython compiles under a name of its own: a ``%%time`` cell is
  ``<timed exec>`` (``<timed eval>`` for one expression), which ``linecache`` does not
  hold. Its text is in IPython's history, with the magic's line left out (of a
  ``%time`` line, the statement after the magic).
- A test module run by pytest, which compiles it with its ``assert`` statements
  rewritten (to explain a failure): a def holding one is rewritten the same way
  (``as_pytest_compiled``).
- A program given to ``python -c`` (``<string>``): the command is in ``sys.orig_argv``.
  One given to ``python -`` (``<stdin>``) from a file (``python - < script.py``): the
  file is read again (a pipe cannot be).

The rewriter uses a text only when, compiled, it gives the very code that runs
(``sources.same_code``), so a wrong candidate costs time, never meaning.

Example:
    >>> import linecache
    >>> linecache.cache["<cell>"] = (9, None, ["def f(x):\\n", "    return x\\n"], "<cell>")
    >>> [tree.body[0].name for tree in source_trees("<cell>")]
    ['f']
    >>> del linecache.cache["<cell>"]
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import linecache
import os
import stat
import sys
import threading
from collections.abc import Iterator
from typing import Any

from ember.xcs.tracing.sources import Scope

__all__ = ["as_pytest_compiled", "source_trees"]

_TIMED = frozenset({"<timed exec>", "<timed eval>"})  # IPython's %%time and %time
_lock = threading.Lock()  # guards _trees
# (file name, hash of text) -> its tree
_trees: dict[tuple[str, int], ast.Module | None] = {}
_UNREAD: Any = object()
_CACHE_LIMIT = 256


def source_trees(filename: str) -> Iterator[ast.Module]:
    """The parsed texts that may hold the source of code compiled from ``filename``."""
    for text in _texts(filename, linecache.getlines(filename)):
        yield from _parsed(filename, text)


def as_pytest_compiled(module: ast.Module, node: Scope, filename: str) -> Scope | None:
    """A copy of ``node``, a def of ``module`` (from ``source_trees``), with its
    ``assert`` statements rewritten as pytest compiles a test module (``conftest.py``, a
    plugin); ``None`` when pytest is not loaded, or ``node`` holds no ``assert``.

    Only the def is rewritten: pytest numbers the names it makes per ``assert`` and
    reads the text of each by its line, so the def comes out as in the whole module
    (whose rewriting costs a tenth of a second and more in a big test module)."""
    text = getattr(module, "_xcs_text", None)
    if text is None or filename.startswith("<") or "_pytest.assertion.rewrite" not in sys.modules \
            or not any(type(inner) is ast.Assert for inner in ast.walk(node)):
        return None
    from _pytest.assertion.rewrite import rewrite_asserts

    copied = copy.deepcopy(node)
    try:
        statement = ast.Expr(copied) if isinstance(copied, ast.expr) else copied
        rewrite_asserts(ast.Module(body=[statement], type_ignores=[]), text.encode(), filename)
    except Exception:  # a pytest of another shape: no such copy
        return None
    return copied


def _parsed(filename: str, text: str) -> Iterator[ast.Module]:
    """``text`` parsed (once), with the text kept on the tree (``as_pytest_compiled``)."""
    key = (filename, hash(text))
    with _lock:
        tree = _trees.get(key, _UNREAD)
    if tree is _UNREAD:
        try:
            tree = ast.parse(text, filename)
            tree._xcs_text = text  # type: ignore[attr-defined]
        except Exception:  # a syntax error: no tree
            tree = None
        with _lock:
            if len(_trees) >= _CACHE_LIMIT:
                _trees.clear()
            _trees[key] = tree
    if tree is not None:
        yield tree


def _texts(filename: str, lines: list[str]) -> Iterator[str]:
    if lines:
        yield "".join(lines)
    if filename in _TIMED:
        yield from _timed_cells()
    elif filename == "<string>":
        yield from _command()
    elif filename == "<stdin>":
        yield from _stdin_script()
    elif not filename.startswith("<"):  # a file: read it again if it changed since
        linecache.checkcache(filename)
        fresh = linecache.getlines(filename)
        if fresh and fresh != lines:
            yield "".join(fresh)


def _command() -> Iterator[str]:
    """The program of ``python -c``, read from the interpreter's own arguments."""
    arguments = iter(getattr(sys, "orig_argv", ())[1:])
    for argument in arguments:
        if not argument.startswith("-") or argument == "-" \
                or argument.startswith("--"):
            return  # a script, stdin, or an option of the long form (none comes before -c)
        for at, flag in enumerate(argument[1:], 2):  # a group of short options (-Bc)
            if flag in "cmWX":  # the options that take a value: the rest, or the next
                value = argument[at:] or next(arguments, "")
                if flag == "c":
                    yield value
                if flag in "cm":
                    return
                break


def _stdin_script() -> Iterator[str]:
    """The program ``python -`` read from standard input, when that is a file."""
    try:
        status = os.fstat(0)
        if stat.S_ISREG(status.st_mode):
            yield importlib.util.decode_source(os.pread(0, status.st_size, 0))
    except (OSError, AttributeError, SyntaxError, UnicodeDecodeError):
        return  # closed, not a file, no os.pread (Windows), or not text


def _timed_cells() -> Iterator[str]:
    """What the ``%%time`` cells and ``%time`` lines in the running IPython's history
    compiled, latest first: a cell without its magic's line, a line's statement."""
    ipython: Any = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    for raw in reversed(history or ()):
        magic, _, body = str(raw).partition("\n")
        timed = [body] if magic.split(" ", 1)[0] == "%%time" else [
            line.strip()[len("%time "):] for line in str(raw).splitlines()
            if line.strip().startswith("%time ")]
        for text in timed:
            try:
                yield shell.transform_cell(text)
            except Exception:  # an input transformer of the user's failing: the text as typed
                yield text
