"""The XCS facade: ``from ember.api.xcs import jit, vmap, ...``.

Everything public in ``ember.xcs`` (its ``__all__``) is re-exported here unchanged.
"""

from ember.xcs import *  # noqa: F403
from ember.xcs import __all__ as __all__
