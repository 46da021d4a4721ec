"""One Dask ``LocalCluster`` (2 worker processes on 127.0.0.1) for tests/distributed.

The workload module is shipped by value, as a user's own code would be to a remote
cluster whose workers cannot import it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cloudpickle
import pytest

from ember.xcs.distributed import DaskExecutor, dask_executor
from tests.distributed import workload

cloudpickle.register_pickle_by_value(workload)


@pytest.fixture(scope="package")
def cluster() -> Iterator[DaskExecutor]:
    """Started once for the package; shut down (workers and scheduler) at its end."""
    with dask_executor(n_workers=2, threads_per_worker=1) as executor:
        yield executor


@pytest.fixture
def healthy(cluster: DaskExecutor) -> DaskExecutor:
    """The shared cluster, after any worker killed by an earlier test is back."""
    cluster.client.wait_for_workers(2, timeout=30)
    return cluster


def worker_pids(executor: DaskExecutor) -> set[int]:
    """The process ids of the cluster's workers."""
    return set(executor.client.run(os.getpid).values())
