"""How the engine hands ops to process pools.

``@op`` on a module-level function binds the module's name to the op, so pickle cannot
find the bare function by its name. Process pools pickle with ``ForkingPickler``, which
takes reducers per type: registered here, it sends such an op by its own name.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["named", "register_for_processes", "register_later"]


def register_for_processes(op_class: type) -> None:
    """Let process pools pickle module-level ops of ``op_class`` (called before the engine
    first hands such an op to another executor).

    ``@op`` on a module-level function binds the module's name to the op, so pickle
    cannot find the bare function by its name; a process pool (``ForkingPickler``) then
    sends the op's own name instead. Only for multiprocessing: cloudpickle (Dask) ships
    such functions by value, since its workers may not have the module. Reducers are
    per exact type, so each op class is registered when the engine first meets it.
    """
    if op_class in _registered and not _later:
        return
    from multiprocessing.reduction import ForkingPickler

    with _lock:
        if op_class not in _registered:
            ForkingPickler.register(op_class, _reduce_for_processes)
            _registered.add(op_class)
        while _later:
            ForkingPickler.register(*_later.pop())


def register_later(cls: type, reducer: Callable[[Any], Any]) -> None:
    """Have process pools pickle ``cls`` with ``reducer``, registered with
    ``ForkingPickler`` when the engine first hands an op to another executor (so that
    importing Ember does not import multiprocessing)."""
    with _lock:
        _later.append((cls, reducer))


_registered: set[type] = set()
_later: list[tuple[type, Callable[[Any], Any]]] = []
_lock = threading.Lock()


def _reduce_for_processes(op: Any) -> Any:
    module = getattr(op, "__module__", None)
    qualname = getattr(op, "__qualname__", "")
    if isinstance(module, str) and qualname and "<locals>" not in qualname \
            and _op_of(named(module, qualname)) is op:
        return (_op_named, (module, qualname))
    import pickle

    return op.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


def _op_named(module: str, qualname: str) -> Any:
    """In a worker: the op ``module.qualname`` names; a clear error when it has none."""
    found = _op_of(named(module, qualname))
    if found is None:
        from ember.xcs.errors import SerializationError

        raise SerializationError(
            f"op {qualname!r} of module {module!r} does not exist in the worker process: "
            "the process pool's workers started at an earlier call, before the op was "
            "defined. Define ops at module level before the first executor='process' "
            "call, or run this one on threads (Config(executor='thread')).")
    return found


def _op_of(found: Any) -> Any:
    """``found``, or the op of an Ember operator a module's name is bound to
    (``ember.api.op`` on a function makes a ``FunctionOperator``, whose op is its
    ``as_op()``)."""
    kind = type(found)
    if kind.__module__.startswith("ember.operators") and callable(getattr(kind, "as_op", None)):
        return found.as_op()
    return found


def named(module: str, qualname: str) -> Any:
    """The object ``module.qualname`` names (importing the module if needed), or ``None``."""
    import importlib

    target: Any = sys.modules.get(module)
    if target is None:
        try:
            target = importlib.import_module(module)
        except ImportError:
            return None
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target
