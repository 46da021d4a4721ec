"""``XCSAPI``: the seed's object-style entry point to XCS (path ``ember.xcs.api.core``).

Every method is the one implementation in ``ember.xcs``; only ``jit`` adds something,
the seed's ``options=JITOptions(...)``.
"""

from __future__ import annotations

from typing import Any

from ember.xcs.api.explain import explain
from ember.xcs.api.jit import jit
from ember.xcs.api.stats import get_jit_stats
from ember.xcs.api.structural import structural_jit
from ember.xcs.compat.options import JITOptions, apply_options
from ember.xcs.errors import ConfigError
from ember.xcs.graphs import autograph, execute, execution_options
from ember.xcs.transforms import grad, mesh_sharded, pmap, scan, vmap

__all__ = ["XCSAPI"]


class XCSAPI:
    """XCS as an object: ``xcs = XCSAPI(); @xcs.jit(options=JITOptions(...))``.

    Methods: ``jit``, ``structural_jit``, ``autograph``, ``execute``,
    ``execution_options``, ``explain``, ``get_jit_stats`` and the transforms
    (``vmap``, ``pmap``, ``scan``, ``grad``, ``mesh_sharded``).

    Example:
        >>> from ember.xcs import op
        >>> xcs = XCSAPI()
        >>> @op
        ... def inc(x):
        ...     return x + 1
        >>> @xcs.jit(options=JITOptions(force_trace=True))
        ... def twice(x):
        ...     return inc(inc(x))
        >>> twice(1)
        3
    """

    structural_jit = staticmethod(structural_jit)
    autograph = staticmethod(autograph)
    execute = staticmethod(execute)
    execution_options = staticmethod(execution_options)
    explain = staticmethod(explain)
    get_jit_stats = staticmethod(get_jit_stats)
    vmap = staticmethod(vmap)
    pmap = staticmethod(pmap)
    scan = staticmethod(scan)
    grad = staticmethod(grad)
    mesh_sharded = staticmethod(mesh_sharded)

    def jit(self, fn: Any = None, /, *, options: JITOptions | None = None, **legacy: Any) -> Any:
        """``ember.xcs.jit`` with the seed's ``options=JITOptions(...)``.

        Args:
            fn: a function, method or Operator class (omit it for a decorator).
            options: see ``JITOptions``; its ``config`` is used when given.
            **legacy: ``sample_input=``, ``force_trace=``, ``recursive=`` or ``config=``
                given directly instead of through ``JITOptions``.

        Raises:
            ConfigError: both ``options`` and loose keywords, or a bad value.
        """
        if legacy:
            if options is not None:
                raise ConfigError("XCSAPI.jit: pass either options=JITOptions(...) or keywords.")
            try:
                options = JITOptions(**legacy)
            except TypeError as error:
                raise ConfigError(f"XCSAPI.jit: {error}; valid keywords are the fields of "
                                  "JITOptions.") from None
        if options is not None and not isinstance(options, JITOptions):
            raise ConfigError(
                f"XCSAPI.jit(options=...) needs a JITOptions, got {type(options).__name__}."
            )
        return apply_options(jit, fn, options)
