"""Compatibility module: the seed's ``ember.xcs.transformations`` (vmap, pmap, ...).

A thin re-export of ``ember.xcs.transforms``, where the transforms live.
"""

from ember.xcs.transforms import DeviceMesh, PartitionSpec, grad, mesh_sharded, pmap, scan, vmap

__all__ = ["DeviceMesh", "PartitionSpec", "grad", "mesh_sharded", "pmap", "scan", "vmap"]
