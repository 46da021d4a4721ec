"""The seed's module path ``ember.xcs.transformations`` (see ``ember.xcs.compat``).

The transforms live in ``ember.xcs.transforms``; this module re-exports them.
"""

from ember.xcs.transforms import DeviceMesh, PartitionSpec, grad, mesh_sharded, pmap, scan, vmap

__all__ = ["DeviceMesh", "PartitionSpec", "grad", "mesh_sharded", "pmap", "scan", "vmap"]
