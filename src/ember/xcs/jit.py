"""The seed's and pyember's module path ``ember.xcs.jit`` (see ``ember.xcs.compat``).

``ember.xcs`` imports its ``jit`` from here, so this module is loaded while the package
initialises and the package attribute ``ember.xcs.jit`` is the function from then on;
``import ember.xcs.jit`` afterwards finds the loaded module and changes nothing.
"""

from ember.xcs.api.jit import JitFunction, jit, jit_disabled
from ember.xcs.api.stats import get_jit_stats
from ember.xcs.api.structural import structural_jit
from ember.xcs.compat import disable_structural_jit

__all__ = [
    "JitFunction",
    "disable_structural_jit",
    "get_jit_stats",
    "jit",
    "jit_disabled",
    "structural_jit",
]
