"""Compatibility module: the seed's ``ember.xcs.transformations`` (vmap, pmap, ...).

The transforms live in ``ember.xcs.transforms``; names here are resolved from there on
first use, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DeviceMesh", "PartitionSpec", "grad", "mesh_sharded", "pmap", "scan", "vmap"]

_SOURCE = "ember.xcs.transforms"


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_SOURCE)
    except ModuleNotFoundError as error:
        if error.name != _SOURCE:
            raise
        raise AttributeError(
            f"{__name__}.{name} is unavailable: {_SOURCE} is missing from this installation."
        ) from error
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(__all__)
