"""The seed's path ``ember.xcs.api.types``: ``JITOptions``, ``XCSExecutionOptions``.

See ``ember.xcs.compat``.
"""

from ember.xcs.compat import JITOptions, XCSExecutionOptions

__all__ = ["JITOptions", "XCSExecutionOptions"]
