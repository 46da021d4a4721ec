"""``DeviceMesh``, ``PartitionSpec`` and ``mesh_sharded``: one mesh for arrays and for work.

A ``DeviceMesh`` is a grid of slots. For arrays it becomes a ``jax.sharding.Mesh`` and
a ``PartitionSpec`` says which array dimension is split over which mesh axis
(``NamedSharding``); JAX (GSPMD) then runs the function on the shards. For
orchestration batches each slot is a worker: the batch is cut into as many contiguous
shards as the mesh has slots, and each shard runs on one engine node, its items in
order.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs.config import Config
from ember.xcs.errors import TransformError
from ember.xcs.transforms.batching import Calls, ItemOp, adapt_inputs, combine, run_batch
from ember.xcs.transforms.leaves import jax_or_none, leaf_kind, require_jax
from ember.xcs.transforms.pmap import checked_devices, resolve_devices
from ember.xcs.transforms.probes import probed
from ember.xcs.transforms.vmap import BatchedFunction, _display_name

__all__ = ["DeviceMesh", "PartitionSpec", "ShardedFunction", "mesh_sharded"]

AxisRef = str | int


class PartitionSpec:
    """How an array's dimensions map onto mesh axes (``jax.sharding.PartitionSpec``).

    Entry ``i`` describes dimension ``i``: ``None`` (not split), a mesh axis name, a
    mesh axis index (``PartitionSpec(0, 1)`` as in the seeds), or a tuple of them
    (split over several axes). Dimensions past the last entry are not split.

    Example:
        >>> PartitionSpec(0, None)
        PartitionSpec(0, None)
    """

    __slots__ = ("entries",)

    def __init__(self, *entries: AxisRef | tuple[AxisRef, ...] | None) -> None:
        for entry in entries:
            parts = entry if isinstance(entry, tuple) else (entry,)
            if not all(p is None or (isinstance(p, str | int) and not isinstance(p, bool))
                       for p in parts):
                raise TransformError(
                    f"PartitionSpec entries must be None, a mesh axis name or index, or a "
                    f"tuple of them; got {entry!r}."
                )
        self.entries: tuple[AxisRef | tuple[AxisRef, ...] | None, ...] = entries

    def __repr__(self) -> str:
        return f"PartitionSpec({', '.join(map(repr, self.entries))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartitionSpec) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def to_jax(self, mesh: DeviceMesh) -> Any:
        """The ``jax.sharding.PartitionSpec`` over ``mesh``'s axis names.

        Raises:
            TransformError: an axis name or index the mesh does not have.
        """
        jax = require_jax("PartitionSpec")

        def name(ref: AxisRef) -> str:
            if isinstance(ref, int):
                if not 0 <= ref < len(mesh.axis_names):
                    raise TransformError(
                        f"{self!r}: mesh axis index {ref} is out of range for a mesh with "
                        f"axes {mesh.axis_names}."
                    )
                return mesh.axis_names[ref]
            if ref not in mesh.axis_names:
                raise TransformError(
                    f"{self!r}: the mesh has no axis {ref!r}; its axes are {mesh.axis_names}."
                )
            return ref

        converted = [
            None if e is None else tuple(name(r) for r in e) if isinstance(e, tuple) else name(e)
            for e in self.entries
        ]
        return jax.sharding.PartitionSpec(*converted)


class DeviceMesh:
    """A grid of devices (for arrays) and worker slots (for orchestration).

    Args:
        devices: JAX devices or indices into ``jax.devices()``; default all devices
            (without JAX, ``os.cpu_count()`` worker slots).
        mesh_shape: the grid's shape; default ``(len(devices),)``.
        axis_names: one name per mesh axis; default ``("axis0", "axis1", ...)``.
        shape: pyember's name for ``mesh_shape`` (``DeviceMesh(shape=(2, 2))``).

    Raises:
        TransformError: ``devices`` is not a list of JAX devices or indices, the shape
            does not hold exactly the given devices, the names do not match the shape,
            or both ``shape`` and ``mesh_shape`` are given.

    Example:
        >>> mesh = DeviceMesh(devices=[0, 1, 2, 3], mesh_shape=(2, 2))
        >>> mesh.shape, mesh.slots, mesh.axis_names
        ((2, 2), 4, ('axis0', 'axis1'))
    """

    def __init__(self, devices: Sequence[Any] | None = None,
                 mesh_shape: Sequence[int] | None = None,
                 axis_names: Sequence[str] | None = None, *,
                 shape: Sequence[int] | None = None) -> None:
        if shape is not None:
            if mesh_shape is not None:
                raise TransformError("DeviceMesh: give the shape once, as mesh_shape= or as "
                                     "shape= (pyember's name), not both.")
            mesh_shape = shape
        self.devices = checked_devices(devices, "DeviceMesh")
        if mesh_shape is None:
            count = len(self.devices) if self.devices is not None else _default_slots()
            mesh_shape = (count,)
        shape = tuple(mesh_shape)
        if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n <= 0
                            for n in shape):
            raise TransformError(f"DeviceMesh: mesh_shape must be positive ints, got {shape!r}.")
        if self.devices is not None and len(self.devices) != math.prod(shape):
            raise TransformError(
                f"DeviceMesh: mesh_shape {shape} holds {math.prod(shape)} devices but "
                f"{len(self.devices)} were given."
            )
        names = tuple(axis_names) if axis_names is not None else tuple(
            f"axis{i}" for i in range(len(shape))
        )
        if len(names) != len(shape):
            raise TransformError(
                f"DeviceMesh: {len(names)} axis names for a {len(shape)}-axis mesh_shape."
            )
        self.shape = shape
        self.axis_names = names
        self._jax_mesh: Any = None
        self._lock = threading.Lock()  # guards _jax_mesh

    @property
    def slots(self) -> int:
        """How many devices (for orchestration: concurrent shards) the mesh has."""
        return math.prod(self.shape)

    def __repr__(self) -> str:
        return f"DeviceMesh(shape={self.shape}, axis_names={self.axis_names})"

    def jax_mesh(self) -> Any:
        """The ``jax.sharding.Mesh`` of this grid (built on first use).

        Raises:
            TransformError: JAX is not installed, or fewer devices exist than needed.
        """
        with self._lock:
            if self._jax_mesh is None:
                import numpy as np

                jax = require_jax("DeviceMesh")
                devices = resolve_devices(self.devices, "DeviceMesh")
                if self.devices is None:
                    if len(devices) < self.slots:
                        raise TransformError(
                            f"DeviceMesh: shape {self.shape} needs {self.slots} devices but "
                            f"JAX sees {len(devices)}."
                        )
                    devices = devices[: self.slots]
                grid = np.array(devices, dtype=object).reshape(self.shape)
                self._jax_mesh = jax.sharding.Mesh(grid, self.axis_names)
            return self._jax_mesh


def _default_slots() -> int:
    jax = jax_or_none()
    if jax is not None:
        return len(jax.devices())
    return os.cpu_count() or 1


class _RunShard:
    """Runs ``fn`` over one shard's calls, in order (picklable for process executors)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, calls: Calls) -> list[Any]:
        return [self.fn(*args, **kwargs) for args, kwargs in calls]


class ShardedFunction(BatchedFunction):
    """A function run over a ``DeviceMesh`` (what ``mesh_sharded`` returns)."""

    transform = "mesh_sharded"

    def __init__(self, fn: Callable[..., Any], mesh: DeviceMesh,
                 pspec: PartitionSpec | Sequence[PartitionSpec | None] | None = None,
                 config: Config | None = None) -> None:
        if not isinstance(mesh, DeviceMesh):
            raise TransformError(
                f"mesh_sharded needs a DeviceMesh, got {type(mesh).__name__} {mesh!r}."
            )
        super().__init__(fn, 0, 0, None, config)
        self._mesh = mesh
        self._pspec = pspec
        self._shard_op = ItemOp(_RunShard(adapt_inputs(fn)), name=f"shard({_display_name(fn)})")
        self._jitted: Callable[..., Any] | None = None

    def _init_args(self) -> tuple[Any, ...]:
        return (self._fn, self._mesh, self._pspec, self._config)

    def _refuse_ambiguous(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Nothing to refuse: for tensors ``fn`` takes the whole arguments, not items."""

    def _tensor_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        jax = require_jax(self.transform)
        mesh = self._mesh.jax_mesh()
        specs = self._specs(len(args))
        placed = tuple(self._place(jax, mesh, arg, spec, f"argument {i}")
                       for i, (arg, spec) in enumerate(zip(args, specs)))
        placed_kwargs = {k: self._place(jax, mesh, v, None, k) for k, v in kwargs.items()}
        if self._jitted is None:
            self._jitted = jax.jit(probed(self._fn))
        return self._jitted(*placed, **placed_kwargs)

    def _specs(self, count: int) -> tuple[PartitionSpec | None, ...]:
        pspec: Any = self._pspec
        if pspec is None or isinstance(pspec, PartitionSpec):
            return (pspec,) * count
        if _is_jax_spec(pspec):
            return (PartitionSpec(*pspec),) * count
        specs = tuple(PartitionSpec(*s) if _is_jax_spec(s) else s for s in pspec)
        if len(specs) != count:
            raise TransformError(
                f"mesh_sharded: {len(specs)} partition specs for {count} positional arguments."
            )
        return specs

    def _place(self, jax: Any, mesh: Any, tree: Any, spec: PartitionSpec | None,
               path: str) -> Any:
        sharding = jax.sharding.NamedSharding
        replicated = sharding(mesh, jax.sharding.PartitionSpec())
        split = None if spec is None else sharding(mesh, spec.to_jax(self._mesh))
        split_rank = 0 if spec is None else len(spec)  # dimensions the split names

        def place(leaf: Any) -> Any:
            if leaf_kind(leaf) != 1:
                return leaf
            if split is None or len(leaf.shape) < split_rank:
                return jax.device_put(leaf, replicated)
            try:
                return jax.device_put(leaf, split)
            except ValueError as error:
                raise TransformError(
                    f"mesh_sharded: cannot split {path} (shape {tuple(leaf.shape)}) with {spec!r} "
                    f"over mesh {self._mesh.shape}: {error}"
                ) from error

        return jax.tree_util.tree_map(place, tree)

    def _run(self, calls: Calls) -> Any:
        count = min(self._mesh.slots, len(calls)) or 1
        size, extra = divmod(len(calls), count)
        shards: list[Calls] = []
        start = 0
        for index in range(count):
            end = start + size + (index < extra)
            shards.append(calls[start:end])
            start = end
        shard_calls: Calls = [((shard,), {}) for shard in shards if shard]
        return run_batch(self._shard_op, shard_calls, self._runner, self._finish_shards,
                         unit="shard")

    def _finish_shards(self, results: list[list[Any]]) -> Any:
        return combine([item for shard in results for item in shard], self.transform)


def _is_jax_spec(value: Any) -> bool:
    return type(value).__name__ == "PartitionSpec" and type(value).__module__.startswith("jax")


def mesh_sharded(fn: Callable[..., Any], mesh: DeviceMesh,
                 pspec: PartitionSpec | Sequence[PartitionSpec | None] | None = None, *,
                 config: Config | None = None,
                 partition_spec: PartitionSpec | Sequence[PartitionSpec | None] | None = None,
                 ) -> ShardedFunction:
    """Run ``fn`` over ``mesh``: sharded arrays for tensors, worker slots for orchestration.

    Tensor calls put every array argument on the mesh with ``NamedSharding(mesh,
    pspec)`` (arrays of lower rank than the spec, and keyword arguments, are
    replicated) and run ``jax.jit(fn)``, so JAX partitions the computation. Other
    calls split the batch (``vmap``'s rules) into ``mesh.slots`` contiguous shards,
    each run on one engine node, items in order; results combine as in ``vmap``.

    Args:
        fn: for tensors, a function of whole arrays; for orchestration, a per-item function.
        mesh: the ``DeviceMesh``.
        pspec: a ``PartitionSpec`` for every array argument, a sequence with one spec
            (or ``None``: replicated) per positional argument, or ``None``.
        config: orchestration settings.
        partition_spec: pyember's name for ``pspec``
            (``mesh_sharded(f, mesh=mesh, partition_spec=spec)``).

    Returns:
        A callable with ``fn``'s arguments.

    Raises:
        TransformError: a spec the mesh cannot satisfy, a dimension not divisible
            by its mesh axis, or both ``pspec`` and ``partition_spec``.

    Example:
        >>> mesh = DeviceMesh(devices=[0, 1], mesh_shape=(2,))
        >>> sharded = mesh_sharded(str.upper, mesh, PartitionSpec(0))
        >>> sharded(["a", "b", "c"])
        ['A', 'B', 'C']
    """
    if partition_spec is not None:
        if pspec is not None:
            raise TransformError("mesh_sharded: give the partition spec once, as pspec or as "
                                 "partition_spec= (pyember's name), not both.")
        pspec = partition_spec
    return ShardedFunction(fn, mesh, pspec, config)
