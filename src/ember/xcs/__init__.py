"""Ember XCS: make compound AI programs fast without making them different.

Pipeline: ``@jit`` runs a function's glue code in the caller under a **tracer**
(``tracing``): each op call becomes a node of the **IR** (``ir``: immutable ``Graph``,
``Node``, ``Var``) and a task of the **engine** (``engine``: a dependency-counting
scheduler over a thread pool or any executor) and returns a ``Lazy`` value at once;
cheap operations on lazy values are lifted into small nodes, and code that needs a
real value waits at a *barrier* for that value only. When the call returns, every op
is awaited and failures are raised as plain Python would raise them. **Analysis**
(``analysis``: parallel groups, critical path) and **stats** (``get_jit_stats``,
``explain``) describe what ran in parallel and why something did not.
"""

from ember.xcs.api.explain import explain
from ember.xcs.api.stats import get_jit_stats, reset_stats
from ember.xcs.config import Config, Presets
from ember.xcs.distributed import DaskExecutor, dask_executor
from ember.xcs.errors import (
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
    "Config",
    "ConfigError",
    "DaskExecutor",
    "DeviceMesh",
    "ExecutionOptions",
    "Graph",
    "GraphError",
    "JitFunction",
    "Node",
    "NodeKind",
    "Op",
    "PartitionSpec",
    "Presets",
    "SerializationError",
    "TracingError",
    "TransformError",
    "Var",
    "XCSError",
    "XCSTimeoutError",
    "autograph",
    "dask_executor",
    "execute",
    "execution_options",
    "explain",
    "get_jit_stats",
    "grad",
    "jit",
    "mark_orchestration",
    "mark_tensor",
    "mesh_sharded",
    "op",
    "placeholder",
    "pmap",
    "register_hook",
    "reset_stats",
    "scan",
    "structural_jit",
    "unregister_hook",
    "value_and_grad",
    "vmap",
]
