"""The checks ``dask_executor`` makes on its arguments before it imports Dask."""

from __future__ import annotations

import math

from ember.xcs.errors import XCSError

__all__ = ["check_arguments"]


def check_arguments(address: str | None, n_workers: int | None, threads_per_worker: int,
                    connect_timeout: float, allowed_failures: int) -> None:
    """Refuse a ``dask_executor`` argument that is not what its docstring says, naming it."""
    if address is not None and not isinstance(address, str):
        raise XCSError(
            f"dask_executor(address=...) must be a scheduler address such as "
            f"'tcp://host:8786' or None, got {type(address).__name__} {address!r}."
        )
    for name, value, minimum in (("n_workers", n_workers, 1),
                                 ("threads_per_worker", threads_per_worker, 1),
                                 ("allowed_failures", allowed_failures, 0)):
        if value is None and name == "n_workers":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise XCSError(f"dask_executor({name}=...) must be an int >= {minimum}, "
                           f"got {value!r}.")
    if (isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int | float)
            or not math.isfinite(connect_timeout) or connect_timeout <= 0):
        raise XCSError(f"dask_executor(connect_timeout=...) must be a finite positive "
                       f"number of seconds, got {connect_timeout!r}.")
