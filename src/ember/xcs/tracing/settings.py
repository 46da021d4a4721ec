"""Process-wide settings the glue changes: the ops issued before the change run first.

Some state every piece of code reads without being given it: the working directory and
the file mode mask (relative paths, new files), the process environment as C code sees
it, the locale and time zone, the logging configuration (a logger's level, its
handlers, their formatters, ``logging.disable``), the warning filters, the streams
``print`` writes to, and the directory ``tempfile`` uses. The glue often sets one
around an op call and sets it back after (``os.chdir(work)``, ``load("notes.txt")``,
``os.chdir(old)``; ``log.setLevel(DEBUG)`` around a call to see its debug lines;
``warnings.simplefilter("error")``). In plain Python the op had run before the line
setting it back; under ``@jit`` it may not even have started.

So a call of the glue that changes such a setting (``changes_setting``), and a store
into one (``stored_setting``: ``sys.stdout``, ``sys.stderr``, ``sys.stdin``,
``tempfile.tempdir``, a logger's ``level`` or ``disabled``), first waits for every op
issued before it: one barrier, named after the setting in ``explain``. (The warning
filters, ``catch_warnings`` included, are ``tracing.warning_filters``'s.) Ops read these
settings through the library code they call, so XCS cannot tell which of them would;
an op issued after the change runs with the new setting, as in plain Python.

Example:
    >>> import logging, os
    >>> changes_setting(os.chdir, ("/tmp",), {})
    'os.chdir'
    >>> changes_setting(logging.getLogger("demo").setLevel, (logging.DEBUG,), {})
    'Logger.setLevel'
    >>> changes_setting(os.getcwd, (), {}) is None
    True
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["changes_setting", "stored_setting"]

# (module, qualified name) of the functions that change a process-wide setting, and the
# name shown for it (``posix`` is ``os`` on Linux and macOS, ``nt`` on Windows).
_FUNCTIONS: dict[tuple[Any, str], str] = {
    **{(module, name): f"os.{name}" for module in ("posix", "nt", "os")
       for name in ("chdir", "fchdir", "umask", "putenv", "unsetenv")},
    ("time", "tzset"): "time.tzset",
    ("locale", "setlocale"): "locale.setlocale",
    ("logging", "disable"): "logging.disable",
    ("logging", "basicConfig"): "logging.basicConfig",
    ("logging", "captureWarnings"): "logging.captureWarnings",
    ("logging.config", "dictConfig"): "logging.config.dictConfig",
    ("logging.config", "fileConfig"): "logging.config.fileConfig",
    **{(module, "setdefaulttimeout"): "socket.setdefaulttimeout"
       for module in ("socket", "_socket")},
}
# Methods of logging's loggers, handlers and filters that change what gets written.
_LOGGING_METHODS = frozenset({"setLevel", "addHandler", "removeHandler", "addFilter",
                              "removeFilter", "setFormatter", "setStream"})
_LOGGING_ATTRIBUTES = frozenset({"level", "disabled", "propagate", "handlers", "filters",
                                 "formatter", "stream"})
_CONTEXT_CLEARS = frozenset({"clear_flags", "clear_traps"})
_STREAMS = frozenset({"stdout", "stderr", "stdin", "__stdout__", "__stderr__"})
_CALLABLES = (types.BuiltinFunctionType, types.FunctionType)


def changes_setting(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The name of the process-wide setting a call of ``fn`` changes, or ``None``."""
    kind = type(fn)
    if kind is types.BuiltinMethodType and _changes_decimal_context(fn):
        # ctx.clear_flags(); decimal.getcontext().prec = 4, a store XCS does not see
        return f"decimal context ({fn.__name__})"
    if kind is types.MethodType:
        owner = fn.__func__
        if getattr(owner, "__module__", None) != "logging":
            return None
        name = owner.__name__
        return owner.__qualname__ if name in _LOGGING_METHODS else None
    if kind not in _CALLABLES:
        return None
    setting = _FUNCTIONS.get((getattr(fn, "__module__", None), fn.__qualname__))
    if setting == "locale.setlocale" and (args[1:2] or [kwargs.get("locale")])[0] is None:
        return None  # setlocale(category): it only reads
    return setting


def stored_setting(target: Any, attr: Any) -> str | None:
    """The name of the setting a store of ``attr`` into ``target`` changes, or ``None``:
    a stream ``print`` or ``input`` uses (``sys.stdout = buffer``), the directory
    ``tempfile`` makes its files in (``tempfile.tempdir``), what a logger, handler or
    filter writes (``log.level = DEBUG``, ``log.disabled = True``)."""
    if _is_decimal_context(target):  # ctx.prec = 4, ctx.traps[DivisionByZero] = False
        return f"decimal context ({attr})"
    if type(target) is types.ModuleType:
        if target is sys:
            return f"sys.{attr}" if attr in _STREAMS else None
        return "tempfile.tempdir" if attr == "tempdir" and target.__name__ == "tempfile" \
            else None
    if attr not in _LOGGING_ATTRIBUTES:
        return None
    # By type (isinstance would wait for an op result); read with a default (another
    # thread may be importing logging).
    filterer = getattr(sys.modules.get("logging"), "Filterer", None)
    if isinstance(filterer, type) and issubclass(type(target), filterer):
        return f"{type(target).__name__}.{attr}"
    return None


def _is_decimal_context(value: Any) -> bool:
    """Whether ``value`` is a ``decimal.Context`` (by type: never asks an op result)."""
    context = getattr(sys.modules.get("decimal"), "Context", None)  # (maybe importing)
    return context is not None and type(value) is context


def _changes_decimal_context(fn: Any) -> bool:
    """``ctx.clear_flags``/``clear_traps`` of a decimal context, or ``decimal.getcontext``
    (what it returns may be changed at once: ``decimal.getcontext().prec = 4``)."""
    name = fn.__name__
    if name in _CONTEXT_CLEARS:
        return _is_decimal_context(fn.__self__)
    return name == "getcontext" and fn is getattr(sys.modules.get("decimal"), "getcontext",
                                                   None)
