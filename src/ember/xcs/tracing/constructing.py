"""Making an object of the user's class from rewritten glue.

``prep`` routes ``Card(title, score)`` here when ``Card`` is a class of the user's: the
instance is made as ``type.__call__`` makes it, but its ``__init__`` runs rewritten, so
the op results it is given stay lazy inside it and the ops it calls run in parallel.
"""

from __future__ import annotations

from typing import Any

from ember.xcs.tracing.lazy import Lazy

__all__ = ["construct"]


def construct(trace: Any, cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cls(*args, **kwargs)`` with the rewritten ``__init__`` (as ``type.__call__`` does)."""
    instance: Any = object.__new__(cls)
    init = trace.instrumented(cls.__dict__.get("__init__") or _class_init(cls))
    returned = init(instance, *args, **kwargs)
    if type(returned) is Lazy:  # `return self.connect()`: an op's None is fine, as in Python
        returned = trace.force(returned, "__init__ return")
    if returned is not None:
        raise TypeError(f"__init__() should return None, not '{type(returned).__name__}'")
    return instance


def _class_init(cls: type) -> Any:
    """The ``__init__`` a class uses (its own or the nearest base's)."""
    for base in cls.__mro__:
        if "__init__" in base.__dict__:
            return base.__dict__["__init__"]
    return object.__init__
