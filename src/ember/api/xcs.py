"""The XCS facade: ``from ember.api.xcs import jit, vmap, ...``.

Everything public in ``ember.xcs`` (its ``__all__``) is re-exported here unchanged,
with pyember's option types ``JITOptions`` and ``XCSExecutionOptions`` (its docs import
them from here: ``@jit(options=JITOptions(...))``; see docs/compat.md).
"""

from ember.xcs import *  # noqa: F403
from ember.xcs import __all__ as _xcs_all
from ember.xcs.compat.options import JITOptions, XCSExecutionOptions

__all__ = [*_xcs_all, "JITOptions", "XCSExecutionOptions"]
