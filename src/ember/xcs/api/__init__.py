"""The public API layer of XCS: ``jit``, stats, ``explain``, ``compare``.

``core`` and ``types`` here are the seed's import paths, thin re-exports of
``ember.xcs.compat``.
"""

from ember.xcs.api.explain import explain
from ember.xcs.api.jit import JitFunction, jit
from ember.xcs.api.stats import get_jit_stats, reset_stats
from ember.xcs.api.structural import structural_jit

__all__ = ["JitFunction", "explain", "get_jit_stats", "jit", "reset_stats", "structural_jit"]
