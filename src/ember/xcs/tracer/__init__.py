"""Compatibility package for the seed's import path ``ember.xcs.tracer.structural_jit``.

The tracer itself lives in ``ember.xcs.tracing``. Nothing is re-exported here, so that
the submodule name ``structural_jit`` is never shadowed by the function of that name.
"""
