"""Ember XCS: make compound AI programs fast without making them different.

Pipeline: ``@jit`` runs a function's glue code in the caller under a **tracer**
(``tracing``), rewritten once from its source so that every place where a pending
value could be observed is seen (``is``, ``type()``, f-strings, calls of C code,
``match``, ``await``). Each op call becomes a task of the **engine** (``engine``: a
run-state machine whose transitions are driven by an event loop for async ops, a
warm thread pool for blocking ones, processes or Dask) and returns a ``Lazy`` value at
once; pure operations on lazy values are lifted into small tasks, and code that needs
a real value waits for that value only. When the call returns, every op is awaited,
failures are raised as plain Python would raise them, and lazy values the glue stored
anywhere are replaced by their values. Each call is logged compactly; the **IR**
(``ir``: immutable ``Graph``, ``Node``, ``Var``) is built from that log when asked
for, **analysis** (``analysis``: parallel groups, critical path) runs over it, and
**stats** (``get_jit_stats``, ``explain``, ``compare``) report what was measured.
``analyze_operations_v2`` says, before or after a run, what kind of work a callable
does and which of these paths XCS takes for it.
"""

from ember.xcs.analysis.marks import mark_hybrid, mark_pytree_safe
from ember.xcs.analysis.operations import (
    EffectRisk,
    OpDecision,
    OpKind,
    Traceability,
    analyze_operations_v2,
)
from ember.xcs.api.compare import compare
from ember.xcs.api.explain import explain
from ember.xcs.api.stats import get_jit_stats, reset_stats
from ember.xcs.config import Config, Presets
from ember.xcs.distributed import DaskExecutor, dask_executor
from ember.xcs.errors import (
    ArgumentChangedError,
    ConfigError,
    GraphError,
    SerializationError,
    TracingError,
    TransformError,
    XCSError,
    XCSTimeoutError,
)
from ember.xcs.graphs import (
    ExecutionOptions,
    autograph,
    execute,
    execution_options,
    placeholder,
)
from ember.xcs.hooks import register_hook, unregister_hook
from ember.xcs.ir import Graph, Node, NodeKind, Var
from ember.xcs.jit import JitFunction, jit, structural_jit  # loads the module ember.xcs.jit now
from ember.xcs.ops import Op, mark_orchestration, mark_tensor, op
from ember.xcs.tracing.callees import mark_pure as pure
from ember.xcs.transforms import (
    DeviceMesh,
    PartitionSpec,
    grad,
    mesh_sharded,
    pmap,
    scan,
    value_and_grad,
    vmap,
)

__all__ = [
    "ArgumentChangedError",
    "Config",
    "ConfigError",
    "DaskExecutor",
    "DeviceMesh",
    "EffectRisk",
    "ExecutionOptions",
    "Graph",
    "GraphError",
    "JitFunction",
    "Node",
    "NodeKind",
    "Op",
    "OpDecision",
    "OpKind",
    "PartitionSpec",
    "Presets",
    "SerializationError",
    "Traceability",
    "TracingError",
    "TransformError",
    "Var",
    "XCSError",
    "XCSTimeoutError",
    "analyze_operations_v2",
    "autograph",
    "compare",
    "dask_executor",
    "execute",
    "execution_options",
    "explain",
    "get_jit_stats",
    "grad",
    "jit",
    "mark_hybrid",
    "mark_orchestration",
    "mark_pytree_safe",
    "mark_tensor",
    "mesh_sharded",
    "op",
    "placeholder",
    "pmap",
    "pure",
    "register_hook",
    "reset_stats",
    "scan",
    "structural_jit",
    "unregister_hook",
    "value_and_grad",
    "vmap",
]
