"""Files the glue uses after giving their path to an op: the op has used them first.

A path is a string or a ``PurePath``: an op given one gets no object XCS could hold
(``tracing.holding``), yet it reads or writes the file the path names when it runs. In
plain Python it had finished before the glue's next line; under ``@jit`` it may not
have started when the glue removes the file (``p.write_text(t)``, ``transcribe(p)``,
``p.unlink()``), writes it again, removes the directory the op lists
(``shutil.rmtree(d)``), or reads the file the op writes (``export(data, p)``, then
``p.read_text()``).

So a call of the glue that reads or changes files (``touched_paths``: opening one,
reading it, asking whether it exists or its size, listing a directory, writing to a
file opened before, removing, renaming, moving, copying, making directories, closing a
``NamedTemporaryFile``, cleaning up a ``TemporaryDirectory``, a data library reading or
writing it: ``pd.read_csv(p)``, ``df.to_csv(p)``, ``np.save(p, a)``, ``gzip.open(p)``,
``zipfile.ZipFile(p)``) first waits for the ops not finished yet that were given a path
naming the same file, a directory holding it, or a file inside it (``given_paths``):
one barrier, "file used while op export was given its path" in ``explain``. Other ops
keep running.

A path is looked for among an op's arguments, the items of the lists, tuples and dicts
passed (their strings when they look like paths: ``out/a.json``, ``notes.txt``) and the
attributes of the objects of the user's passed (``job.path``). A path
the op builds itself, or reads from a global, is not seen; pass it as an argument (or
mark the op ``effect=True``).

Example:
    >>> import os, pathlib
    >>> touched_paths(os.remove, ("notes.txt",), {}) == (os.path.abspath("notes.txt"),)
    True
    >>> touched_paths(os.path.join, ("notes", "a.txt"), {})
    ()
    >>> len(touched_paths(pathlib.Path("a.txt").rename, ("b.txt",), {}))
    2
"""

from __future__ import annotations

import io
import os
import pathlib
import types
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tree.kinds import record_items

__all__ = ["PathIndex", "given_paths", "touched_paths"]

_get = object.__getattribute__
_OS_MODULES = frozenset({"posix", "nt", "os"})
_PATH_MODULES = frozenset({"posixpath", "ntpath", "genericpath", "os.path"})
# Functions of os, os.path and shutil that read or change files, and the positions of
# the paths they use.
_OS_USES = {"remove": (0,), "unlink": (0,), "rmdir": (0,), "removedirs": (0,),
            "truncate": (0,), "mkdir": (0,), "makedirs": (0,), "rename": (0, 1),
            "renames": (0, 1), "replace": (0, 1), "listdir": (0,), "scandir": (0,),
            "stat": (0,), "lstat": (0,), "access": (0,), "walk": (0,)}
_OS_PATH_USES = {name: (0,) for name in ("exists", "lexists", "isfile", "isdir", "islink",
                                         "getsize", "getmtime", "getatime", "getctime")}
_SHUTIL_USES = {"rmtree": (0,), "move": (0, 1), "copy": (0, 1), "copy2": (0, 1),
                "copyfile": (0, 1), "copytree": (0, 1), "copymode": (0, 1),
                "copystat": (0, 1)}
_GLOB_USES = {"glob": (0,), "iglob": (0,)}
# Methods of pathlib.Path that read or change the file (the path itself; and their
# target).
_PATH_USES = {"unlink": (), "rmdir": (), "write_text": (), "write_bytes": (), "touch": (),
              "mkdir": (), "rename": (0,), "replace": (0,), "read_text": (),
              "read_bytes": (), "open": (), "exists": (), "is_file": (), "is_dir": (),
              "stat": (), "lstat": (), "iterdir": (), "glob": (), "rglob": (), "walk": (),
              "samefile": (0,)}
_FILE_WRITES = frozenset({"write", "writelines", "truncate"})
_TEMPORARY_ENDS = frozenset({"close", "cleanup"})  # they remove the file or directory
# Readers and writers of files of the data libraries, and the names of their path
# argument (pandas read_csv / DataFrame.to_csv, polars scan_parquet, np.save / np.load).
_TABLE_PACKAGES = frozenset({"pandas", "polars", "pyarrow"})
_TABLE_IO = ("read_", "to_", "scan_", "write_")
_NUMPY_IO = frozenset({"save", "savez", "savez_compressed", "savetxt", "load", "loadtxt",
                       "genfromtxt", "fromfile"})
# Other functions and classes of the standard library that open the file they name.
_OPENERS = frozenset({("gzip", "open"), ("bz2", "open"), ("lzma", "open"),
                      ("zipfile", "ZipFile"), ("tarfile", "open"), ("shelve", "open"),
                      ("dbm", "open"), ("codecs", "open"), ("_sqlite3", "connect"),
                      ("sqlite3", "connect")})
_PATH_KEYWORDS = ("path_or_buf", "filepath_or_buffer", "path", "file", "fname", "source",
                  "where", "io")
_MAGIC = frozenset("*?[")  # a glob pattern: its directory is what is read
_LONGEST = 4096  # a longer string is no path (a prompt, a document)


def touched_paths(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The absolute paths of the files a call of ``fn`` reads or changes (empty: none)."""
    if fn is open:
        return _paths((args[0] if args else kwargs.get("file"),))
    kind = type(fn)
    if kind is types.MethodType:
        owner = fn.__self__
        if isinstance(owner, pathlib.Path):
            positions = _PATH_USES.get(fn.__name__)
            if positions is None:
                return ()
            return _paths((owner, *(args[i] for i in positions if i < len(args))))
        # tmp.close() of a NamedTemporaryFile, TemporaryDirectory.cleanup()
        if type(owner).__module__ == "tempfile" and fn.__name__ in _TEMPORARY_ENDS:
            return _paths((getattr(owner, "name", None),))
        return _data_file(fn, args, kwargs)  # df.to_csv(p)
    if kind is not types.BuiltinFunctionType and kind is not types.FunctionType:
        return _data_file(fn, args, kwargs)  # np.save(p, a), zipfile.ZipFile(p)
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, io.IOBase):  # log.write(...) on a file opened before the call
        name = getattr(owner, "name", None)
        return _paths((name,)) if fn.__name__ in _FILE_WRITES else ()
    module = getattr(fn, "__module__", None)
    table = _OS_USES if module in _OS_MODULES else _OS_PATH_USES if module in _PATH_MODULES \
        else _SHUTIL_USES if module == "shutil" else _GLOB_USES if module == "glob" else None
    positions = table.get(fn.__name__) if table is not None else None
    if positions is None:
        return _data_file(fn, args, kwargs)  # pd.read_csv(p), np.load(p)
    return _paths(tuple(args[i] for i in positions if i < len(args)))


def _data_file(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The file a data library's reader or writer uses (``pd.read_csv(p)``,
    ``df.to_parquet(p)``, ``np.save(p, a)``, ``gzip.open(p)``), or none."""
    module = getattr(fn, "__module__", None)
    if type(module) is not str:
        return ()
    package = module.partition(".")[0]
    name = getattr(fn, "__name__", None)
    if type(name) is not str or not (
            (package in _TABLE_PACKAGES and name.startswith(_TABLE_IO))
            or (package == "numpy" and name in _NUMPY_IO) or (module, name) in _OPENERS):
        return ()
    if args:
        return _paths(args[:1])
    return _paths(tuple(kwargs[k] for k in _PATH_KEYWORDS if k in kwargs))


def given_paths(trace: Any, paths: tuple[str, ...]) -> list[Lazy]:
    """The op calls of ``trace`` not finished yet that were given a path naming one of
    ``paths``, a directory holding one, or a file inside one."""
    index: PathIndex = trace.ordering.paths
    return index.users(trace.issued, paths)


class PathIndex:
    """The paths the op calls of one call were given, indexed as they are issued.

    ``exact`` maps a path to the op calls given it, ``under`` a directory to those given
    a path inside it, so that a change looks up its own path and its directories
    instead of reading every call issued so far. Owned by the trace's ``Ordering``.
    """

    __slots__ = ("exact", "issued", "seen", "under")

    def __init__(self) -> None:
        self.exact: dict[str, list[Lazy]] = {}
        self.under: dict[str, list[Lazy]] = {}
        self.issued: list[Any] | None = None  # the trace's list of calls, read so far
        self.seen = 0

    def users(self, issued: list[Any], paths: tuple[str, ...]) -> list[Lazy]:
        """The unfinished op calls of ``issued`` given a path related to one of ``paths``."""
        if issued is not self.issued:  # a rerun starts a list of its own
            self.exact, self.under, self.issued, self.seen = {}, {}, issued, 0
        seen = self.seen  # (flat: op, args, kwargs, lazy per call; see tracing.memo)
        for args, kwargs, lazy in zip(issued[seen + 1::4], issued[seen + 2::4],
                                      issued[seen + 3::4], strict=True):
            if type(lazy) is Lazy:
                for given in _paths(_candidates(args, kwargs)):
                    self.exact.setdefault(given, []).append(lazy)
                    for directory in _directories(given):
                        self.under.setdefault(directory, []).append(lazy)
        self.seen = len(issued)
        found: dict[int, Lazy] = {}
        for path in paths:
            for lazies in (self.exact.get(path, ()), self.under.get(path, ()),
                           *(self.exact.get(d, ()) for d in _directories(path))):
                for lazy in lazies:
                    if not _get(lazy, "_xcs_task").final:
                        found[id(lazy)] = lazy
        return list(found.values())


def _directories(path: str) -> list[str]:
    """The directories holding ``path`` (an absolute path), innermost first."""
    found = []
    parent = os.path.dirname(path)
    while parent and parent != path:
        found.append(parent)
        path, parent = parent, os.path.dirname(parent)
    return found


def _candidates(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The arguments of an op call, the items of its containers, the attributes of its
    objects of the user's: where a path it reads may be."""
    values = [*args, *kwargs.values()]
    for value in (*args, *kwargs.values()):
        cls = type(value)
        if cls is list or cls is tuple or cls is dict:  # of their strings, those like paths
            values += [item for item in (value.values() if cls is dict else value)
                       if type(item) is not str or _path_like(item)]
        elif cls not in tree.ATOMS and cls is not Lazy \
                and tree.kind_of(value) is tree.Kind.RECORD:  # job.path, a dataclass
            values += [item for _, item in record_items(value)]  # slots too
    return values


def _path_like(text: str) -> bool:
    """Whether a string among many (a list of 1,000 documents or prompts) may be a path:
    one line naming a directory (``out/a.json``) or a file with an extension
    (``notes.txt``). Indexing every string would cost each op call a path lookup."""
    if "\n" in text or len(text) >= _LONGEST:
        return False
    if os.sep in text or (os.altsep is not None and os.altsep in text):
        return True
    stem, dot, extension = text.rpartition(".")
    return bool(stem and dot) and 0 < len(extension) <= 8 and extension.isalnum()


def _paths(values: Any) -> tuple[str, ...]:
    """The absolute forms of the paths among ``values`` (strings and ``PurePath``s)."""
    found = []
    for value in values:
        if type(value) is Lazy:  # an op's result: no path the glue gave yet
            continue
        if isinstance(value, pathlib.PurePath):
            value = str(value)
        if type(value) is str and value and len(value) < _LONGEST and "\0" not in value:
            while not _MAGIC.isdisjoint(value) and value != os.path.dirname(value):
                value = os.path.dirname(value)  # "out/*.json": the directory it reads
            found.append(os.path.abspath(value))
    return tuple(found)
