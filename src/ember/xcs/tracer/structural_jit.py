"""The seed's path ``ember.xcs.tracer.structural_jit`` (see ``ember.xcs.compat``)."""

from ember.xcs.api.structural import structural_jit
from ember.xcs.compat import disable_structural_jit

__all__ = ["disable_structural_jit", "structural_jit"]
