"""Transforms: JAX's vocabulary (``vmap``, ``pmap``, ``scan``, ``grad``) for XCS programs.

Tensor-only calls go to JAX; calls that reach an op (an LLM call, a tool) run on the
XCS engine. Which is which is decided by trying, not by guessing from names: ``leaves``
says which arguments are tensor data, ``probes`` stops a JAX trace at the first op, and
``tensor`` is ``jit``'s fast path built on both. Orchestration batches are split and
combined by the rules in ``batching``.
"""

from ember.xcs.transforms.grad import grad, value_and_grad
from ember.xcs.transforms.mesh import DeviceMesh, PartitionSpec, ShardedFunction, mesh_sharded
from ember.xcs.transforms.pmap import ParallelFunction, pmap
from ember.xcs.transforms.scan import scan
from ember.xcs.transforms.vmap import BatchedFunction, vmap

__all__ = [
    "BatchedFunction",
    "DeviceMesh",
    "ParallelFunction",
    "PartitionSpec",
    "ShardedFunction",
    "grad",
    "mesh_sharded",
    "pmap",
    "scan",
    "value_and_grad",
    "vmap",
]
