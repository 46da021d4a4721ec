"""Where a jitted call cannot hand its ops to other threads: it runs as plain Python.

While a thread executes a module's body (``import m``, where ``m`` calls a jitted
function at module level, or an ``__init__.py`` warms a cache up), it holds that
module's import lock. An op running on an engine thread that imports the module (the
lazy ``from m import helper`` that breaks an import cycle) would wait for that lock,
while the importing thread waits for the op: neither could go on. In plain Python the
op runs in the importing thread, which may re-enter its own import and gets the
partly initialised module. So a jitted call made while its thread imports a module
runs as plain Python, in that thread, and says so in ``get_jit_stats``/``explain``.

Which module a thread is importing is read from ``importlib._bootstrap``'s table of
module locks (each records the thread that owns it). The table is empty unless some
thread is importing, so callers test ``module_locks`` first: one truth test per call at run time.

Example:
    >>> importing_module() is None  # a doctest runs after its module was imported
    True
"""

from __future__ import annotations

import threading
from importlib import _bootstrap

from ember.xcs.api.records import Fallback, FunctionStats

__all__ = ["importing_module", "module_locks", "plain_at_import"]

# name -> weakref to its _ModuleLock (CPython's; the same in 3.11-3.13)
module_locks: dict[str, object] = _bootstrap._module_locks  # type: ignore[attr-defined]


def importing_module() -> str | None:
    """The name of a module whose import this thread is running, or ``None``."""
    if not module_locks:  # the common case: nothing is being imported
        return None
    me = threading.get_ident()
    for name, ref in list(module_locks.items()):
        lock = ref() if callable(ref) else None
        if lock is not None and getattr(lock, "owner", None) == me:
            return name
    return None


def plain_at_import(stats: FunctionStats) -> bool:
    """Whether a call must run as plain Python because this thread imports a module
    now; if so, ``stats`` records why (``get_jit_stats``'s fallbacks, ``explain``)."""
    module = importing_module()
    if module is None:
        return False
    stats.note_fallback(Fallback(
        f"called while this thread imports module {module!r}: runs as plain Python in this "
        "thread (an op on another thread that imports the module would wait for its "
        "import lock forever); call it after the import to run its ops concurrently",
        None, eager=True))
    return True
