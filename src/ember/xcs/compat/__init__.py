"""Compatibility: the seed's and pyember's XCS names, over the one implementation.

The code that exists only for those names lives here (``xcsapi``: ``XCSAPI``;
``options``: ``JITOptions``, ``XCSExecutionOptions``; ``structural``:
``disable_structural_jit``). Each old import path is a thin module that re-exports:

- ``ember.xcs.api.core``: ``XCSAPI``;
- ``ember.xcs.api.types``: ``JITOptions``, ``XCSExecutionOptions``;
- ``ember.xcs.tracer.structural_jit``: ``disable_structural_jit``, ``structural_jit``;
- ``ember.xcs.jit`` (the module): ``jit``, ``JitFunction``, ``structural_jit``,
  ``get_jit_stats``, ``disable_structural_jit``;
- ``ember.xcs.transformations``: the transforms of ``ember.xcs.transforms``.

docs/compat.md describes what each name does now.
"""

from ember.xcs.compat.options import JITOptions, XCSExecutionOptions
from ember.xcs.compat.structural import disable_structural_jit
from ember.xcs.compat.xcsapi import XCSAPI

__all__ = ["XCSAPI", "JITOptions", "XCSExecutionOptions", "disable_structural_jit"]
