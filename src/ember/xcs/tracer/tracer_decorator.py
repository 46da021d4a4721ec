"""pyember's path ``ember.xcs.tracer.tracer_decorator``: ``jit``, ``JITOptions``.

Its examples import ``JITOptions`` from here for ``@jit(options=JITOptions(...))``;
see ``ember.xcs.compat`` and docs/compat.md.
"""

from ember.xcs.api.jit import jit
from ember.xcs.compat import JITOptions

__all__ = ["JITOptions", "jit"]
