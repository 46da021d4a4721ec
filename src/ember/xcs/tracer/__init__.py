"""The seed's package path ``ember.xcs.tracer`` (the tracer is ``ember.xcs.tracing``).

Only the submodule ``structural_jit`` lives here (see ``ember.xcs.compat``). Nothing is
re-exported, so that the submodule is never shadowed by the function of that name.
"""
