"""``pmap``: run a function over a batch in parallel, across workers or devices.

Orchestration calls run one engine node per item, on the engine's threads by default,
or on a process pool, Dask, or any executor through ``Config(executor=...)``. Tensor
calls use JAX's current sharding API: the batch is split over a one-axis device mesh
with ``jax.shard_map`` and each device maps ``fn`` over its block with ``jax.vmap``
(``jax.pmap`` is legacy). Unlike ``jax.pmap``, the batch need not equal the device
count: it is split over the largest number of devices that divides it.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ember.xcs.config import Config, refuse_misplaced, settings_of, without_catchalls
from ember.xcs.errors import TransformError
from ember.xcs.transforms.batching import positional_axes
from ember.xcs.transforms.leaves import leaf_kind, require_jax
from ember.xcs.transforms.probes import probed
from ember.xcs.transforms.vmap import BatchedFunction

__all__ = ["ParallelFunction", "checked_devices", "pmap", "resolve_devices"]

_AXIS = "pmap"


def resolve_devices(devices: Sequence[Any] | None, transform: str,
                    backend: str | None = None) -> list[Any]:
    """JAX devices from ``devices`` (``None``: all; ints index ``jax.devices(backend)``).

    Raises:
        TransformError: an index out of range, or a backend JAX does not have.
    """
    jax = require_jax(transform)
    try:
        available = list(jax.devices(backend))
    except RuntimeError as error:
        raise TransformError(
            f"{transform}: backend={backend!r} is not available to JAX ({error})."
        ) from None
    if devices is None:
        return available
    chosen = []
    for device in devices:
        if isinstance(device, int) and not isinstance(device, bool):
            if not 0 <= device < len(available):
                raise TransformError(
                    f"{transform}: device index {device} is out of range; JAX sees "
                    f"{len(available)} device(s). (On CPU, set XLA_FLAGS="
                    "--xla_force_host_platform_device_count=N before importing jax.)"
                )
            chosen.append(available[device])
        else:
            chosen.append(device)
    return chosen


def checked_devices(devices: Any, where: str) -> tuple[Any, ...] | None:
    """``devices`` as a tuple, after checking it is ``None`` or a list of JAX devices
    and device indices (a count or a platform name would be read item by item).

    Raises:
        TransformError: anything else, saying what was given and how to get devices.
    """
    if devices is None:
        return None
    how = "get them with jax.devices() (e.g. jax.devices()[:2]) or give indices [0, 1]"
    if isinstance(devices, str):
        raise TransformError(f"{where}(devices=...) must be a list of JAX devices or device "
                             f"indices, got str {devices!r}; to choose a platform use "
                             f"backend={devices!r}, or {how}.")
    if getattr(devices, "ndim", None) == 1:  # a NumPy array of devices
        devices = list(devices)
    if not isinstance(devices, tuple | list):
        raise TransformError(f"{where}(devices=...) must be a list of JAX devices or device "
                             f"indices, got {type(devices).__name__} {devices!r}; {how}.")
    jax = sys.modules.get("jax")  # a JAX device exists only once jax was imported
    for device in devices:
        if isinstance(device, int) and not isinstance(device, bool):
            continue
        if jax is None or not isinstance(device, jax.Device):
            raise TransformError(f"{where}(devices=...) holds {type(device).__name__} "
                                 f"{device!r}, which is neither a JAX device nor an index; "
                                 f"{how}.")
    return tuple(devices)


def _largest_divisor(size: int, limit: int) -> int:
    for count in range(min(size, limit), 0, -1):
        if size % count == 0:
            return count
    return 1


class ParallelFunction(BatchedFunction):
    """A function mapped in parallel over a batch (what ``pmap`` returns)."""

    transform = "pmap"

    def __init__(self, fn: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
                 axis_size: int | None = None, config: Config | None = None,
                 axis_name: Any = None, devices: Sequence[Any] | None = None,
                 backend: str | None = None) -> None:
        super().__init__(fn, in_axes, out_axes, axis_size, config, axis_name)
        if backend is not None and not isinstance(backend, str):
            raise TransformError(f"pmap(backend=...) must be a str such as 'cpu' or None, "
                                 f"got {backend!r}.")
        self._devices = checked_devices(devices, "pmap")
        self._backend = backend
        self._sharded: dict[tuple[Any, ...], Callable[..., Any]] = {}
        self._shard_lock = threading.Lock()  # guards _sharded

    def _init_args(self) -> tuple[Any, ...]:
        return (*super()._init_args(), self._devices, self._backend)

    def _tensor_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        jax = require_jax(self.transform)
        if self._axis_name is not None:
            # Collectives over axis_name must see the whole batch, which a per-device
            # block does not: run the batch as one jax.vmap (correct, on one device).
            return super()._tensor_call(args, kwargs)
        axes = self._flat_axes(len(args))
        moved = tuple(
            _move_leading(jax, arg, axis) if axis not in (None, 0) else arg
            for arg, axis in zip(args, axes)
        )
        names = _argument_names(self._fn, len(args))
        mapped = {name: a for name, a, axis in zip(names, moved, axes) if axis is not None}
        mapped.update({f"argument {k}": v for k, v in kwargs.items()})
        sizes = _leading_sizes(jax, mapped)
        if not sizes:  # nothing is split: plain vmap (axis_size) on one device
            return super()._tensor_call(args, kwargs)
        if len(set(sizes.values())) > 1:
            # Checked here, on the whole batch: after the split JAX would only see the
            # per-device blocks (wrong sizes) of an internal function.
            listed = ", ".join(f"{path} has size {n}" for path, n in sizes.items())
            raise TransformError(
                f"pmap: mapped arrays must have the same size along their mapped axis, but "
                f"{listed}. Make them equal, or give the ones to broadcast in_axes None."
            )
        size = next(iter(sizes.values()))
        devices = resolve_devices(self._devices, self.transform, self._backend)
        count = _largest_divisor(size, len(devices)) if size else 1
        mapped_flags = tuple(axis is not None for axis in axes)
        sharded = self._sharded_fn(jax, devices[:count], mapped_flags, tuple(sorted(kwargs)))
        result = sharded(moved, kwargs)
        if self._out_axes != 0:
            out_axes = self._out_axes
            result = jax.tree_util.tree_map(lambda x: jax.numpy.moveaxis(x, 0, out_axes), result)
        return result

    def _flat_axes(self, count: int) -> tuple[int | None, ...]:
        axes = positional_axes(self._in_axes, count, self.transform)
        if any(
            a is not None and (isinstance(a, bool) or not isinstance(a, int)) for a in axes
        ):
            raise TransformError(
                f"pmap: for arrays, in_axes must be an int, None, or a tuple with one int/None "
                f"per positional argument ({count} here); got {self._in_axes!r}."
            )
        if not isinstance(self._out_axes, int) or isinstance(self._out_axes, bool):
            raise TransformError(f"pmap: for arrays, out_axes must be an int, got "
                                 f"{self._out_axes!r}.")
        return axes

    def _sharded_fn(self, jax: Any, devices: list[Any], mapped: tuple[bool, ...],
                    kwarg_names: tuple[str, ...]) -> Callable[..., Any]:
        key = (tuple(devices), mapped, kwarg_names)
        cached = self._sharded.get(key)
        if cached is not None:
            return cached
        import numpy as np

        spec = jax.sharding.PartitionSpec
        mesh = jax.sharding.Mesh(np.array(devices), (_AXIS,))
        per_item = jax.vmap(probed(self._fn), in_axes=tuple(0 if m else None for m in mapped))

        def block(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return per_item(*args, **kwargs)

        in_specs = (tuple(spec(_AXIS) if m else spec() for m in mapped), spec(_AXIS))
        sharded: Callable[..., Any] = jax.jit(jax.shard_map(block, mesh=mesh, in_specs=in_specs,
                                        out_specs=spec(_AXIS), check_vma=False))
        with self._shard_lock:
            self._sharded[key] = sharded
        return sharded


def _argument_names(fn: Callable[..., Any], count: int) -> list[str]:
    """How messages name ``fn``'s first ``count`` positional arguments ("argument a")."""
    names = [f"argument {i}" for i in range(count)]
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return names
    for index, parameter in enumerate(parameters[:count]):
        if parameter.kind is parameter.VAR_POSITIONAL:
            break
        names[index] = f"argument {parameter.name}"
    return names


def _leading_sizes(jax: Any, mapped: dict[str, Any]) -> dict[str, int]:
    """The size of axis 0 of every array leaf of ``mapped``, by argument and leaf path."""
    sizes: dict[str, int] = {}
    for name, tree in mapped.items():
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
            if leaf_kind(leaf) == 1 and len(leaf.shape) > 0:
                sizes[name + jax.tree_util.keystr(path)] = int(leaf.shape[0])
    return sizes


def _move_leading(jax: Any, tree: Any, axis: int) -> Any:
    return jax.tree_util.tree_map(lambda x: jax.numpy.moveaxis(x, axis, 0), tree)


def pmap(fn: Callable[..., Any] | None = None, in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None, *positional: Any, axis_name: Any = None,
         devices: Sequence[Any] | None = None, backend: str | None = None,
         config: Config | None = None, **settings: Any) -> Any:
    """Map ``fn`` over a batch in parallel: workers for orchestration, devices for arrays.

    Orchestration items run one per engine node (threads by default; a process pool,
    Dask or any executor with ``Config(executor=...)``), with ``vmap``'s batching rules
    and plain-loop results and exceptions. Array calls are split over a device mesh
    with ``jax.shard_map``; each device runs ``jax.vmap(fn)`` on its block, so results
    equal ``jax.vmap(fn)``. Nesting works: ``pmap(vmap(f))`` maps shards over workers
    and items within a shard with ``vmap``. Without ``fn`` it is a decorator factory.

    Args:
        fn: the per-item function.
        in_axes: as in ``vmap`` (arrays: an int, ``None``, or a tuple of them).
        out_axes: where the batch axis goes in array outputs.
        axis_size: the batch size when no argument is mapped.
        axis_name: the mapped axis's name for collectives in tensor code; with it the
            batch runs as one ``jax.vmap`` so that collectives see every item.
        devices: a list of JAX devices (or indices into ``jax.devices(backend)``);
            default all. Arrays only: orchestration items run on the engine's workers
            (``config``), and ``devices``/``backend`` are checked but not used.
        backend: the JAX platform whose devices are used (``"cpu"``, ``"gpu"``, ...).
        config: orchestration settings (``executor``, ``max_workers``, ``progress`` ...).

    Returns:
        A callable with ``fn``'s arguments, batched (or a decorator without ``fn``).

    Raises:
        TransformError: as ``vmap``; also ``devices`` not a list of devices or indices,
            bad device indices, or an unknown backend.
        ConfigError: a setting given directly (pyember's ``num_workers=4``) or a
            ``Config`` given positionally instead of ``config=Config(...)``.

    Example:
        >>> def shout(text):
        ...     return text.upper() + "!"
        >>> pmap(shout)(["a", "b", "c"])
        ['A!', 'B!', 'C!']
    """
    refuse_misplaced("pmap()", _PARAMETERS, (in_axes, out_axes, axis_size), positional,
                     settings)
    if fn is None:
        return lambda target: ParallelFunction(target, in_axes, out_axes, axis_size, config,
                                               axis_name, devices, backend)
    return ParallelFunction(fn, in_axes, out_axes, axis_size, config, axis_name, devices,
                            backend)


pmap.__signature__ = without_catchalls(pmap)  # type: ignore[attr-defined]
_PARAMETERS = settings_of(pmap)
