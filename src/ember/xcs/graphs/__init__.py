"""Explicit graphs: record with ``autograph``, run with ``execute``, transform with passes.

``autograph()`` records op calls into an immutable ``Graph`` without running them;
``execute(graph, options=execution_options(...))`` runs it with the ``sequential``,
``wave``, ``parallel`` or ``auto`` scheduler and returns the values by the variable
names of the ``with`` block. Passes (``eliminate_dead_nodes``, ``prune_to_outputs``,
``merge_duplicates``) are pure functions from graph to graph.
"""

from ember.xcs.graphs.execute import execute
from ember.xcs.graphs.options import (
    SCHEDULERS,
    ExecutionOptions,
    current_execution_options,
    execution_options,
)
from ember.xcs.graphs.passes import (
    eliminate_dead_nodes,
    merge_duplicates,
    prune_to_outputs,
    rename_vars,
)
from ember.xcs.graphs.recording import Recording, Symbol, autograph, placeholder

__all__ = [
    "SCHEDULERS",
    "ExecutionOptions",
    "Recording",
    "Symbol",
    "autograph",
    "current_execution_options",
    "eliminate_dead_nodes",
    "execute",
    "execution_options",
    "merge_duplicates",
    "placeholder",
    "prune_to_outputs",
    "rename_vars",
]
