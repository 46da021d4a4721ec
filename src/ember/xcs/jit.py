"""Compatibility module ``ember.xcs.jit`` (seed path), callable like the ``jit`` function.

``from ember.xcs.jit import jit`` gives the decorator. Importing this submodule makes
Python rebind the package attribute ``ember.xcs.jit`` to the module, so the module
itself is callable and forwards to the decorator: ``from ember.xcs import jit`` then
``@jit`` / ``@jit(config=...)`` work whichever import came first.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from ember.xcs.api.jit import JitFunction, jit, jit_disabled, structural_jit
from ember.xcs.tracer.structural_jit import disable_structural_jit

__all__ = ["JitFunction", "disable_structural_jit", "jit", "jit_disabled", "structural_jit"]

__signature__ = inspect.signature(jit)


class _CallableModule(types.ModuleType):
    """This module, callable as ``jit`` (see the module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return jit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
