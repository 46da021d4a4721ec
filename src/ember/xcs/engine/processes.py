"""How the engine hands ops to process pools.

``@op`` on a module-level function binds the module's name to the op, so pickle cannot
find the bare function by its name. Process pools pickle with ``ForkingPickler``, which
takes reducers per type: registered here, it sends such an op by its own name.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["named", "register_for_processes"]


def register_for_processes() -> None:
    """Let process pools pickle module-level ``@op`` functions (called before the engine
    first hands an op to another executor).

    ``@op`` on a module-level function binds the module's name to the op, so pickle
    cannot find the bare function by its name; a process pool (``ForkingPickler``) then
    sends the op's own name instead. Only for multiprocessing: cloudpickle (Dask) ships
    such functions by value, since its workers may not have the module.
    """
    global _registered
    if _registered:
        return
    from multiprocessing.reduction import ForkingPickler

    from ember.xcs.ops import Op

    ForkingPickler.register(Op, _reduce_for_processes)
    _registered = True


_registered = False


def _reduce_for_processes(op: Any) -> Any:
    module = getattr(op, "__module__", None)
    qualname = getattr(op, "__qualname__", "")
    if isinstance(module, str) and qualname and "<locals>" not in qualname \
            and named(module, qualname) is op:
        return (named, (module, qualname))
    import pickle

    return op.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


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
