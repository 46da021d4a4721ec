"""Calls of one cached key running at once on a Dask cluster pay once, as in plain Python.

In plain Python the second call of a key comes after the first has stored its value,
so it is a hit. Under ``@jit`` with a Dask executor the calls are submitted together;
the caller, where the cache is consulted, ships the first and answers the others from
the store once it is back (``ember.xcs.cache.shipping``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.xcs import Config, jit
from ember.xcs.cache import MemoryStore, counters, reset_counters, use
from ember.xcs.distributed import DaskExecutor
from tests.distributed import workload


def _paid(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_samples_of_one_key_are_one_paid_sample_as_in_plain_python(
    healthy: DaskExecutor, tmp_path: Path
) -> None:
    with use(MemoryStore()):
        plain = workload.best_of_three("tides?", str(tmp_path / "plain.log"))
    assert len(set(plain)) == 1 and _paid(tmp_path / "plain.log") == 1

    log = tmp_path / "dask.log"
    traced = jit(workload.best_of_three,
                 config=Config(executor=healthy, result_cache=MemoryStore()))
    reset_counters()
    samples = traced("tides?", str(log))

    assert len(set(samples)) == 1, f"three different samples: {samples}"
    assert _paid(log) == 1
    seen = counters()
    assert (seen["misses"], seen["hits"], seen["writes"]) == (1, 2, 1)
    assert samples[0] is not samples[1]  # each hit is a copy of its own, as in plain Python


def test_when_the_first_call_of_a_key_fails_the_call_fails_as_in_plain_python(
    healthy: DaskExecutor, tmp_path: Path
) -> None:
    def three(prompt: str, log: str) -> list[float]:
        return [workload.sampled_once_failing(prompt, log) for _ in range(3)]

    with use(MemoryStore()), pytest.raises(workload.WorkloadError) as plain:
        three("tides?", str(tmp_path / "plain.log"))

    traced = jit(three, config=Config(executor=healthy, result_cache=MemoryStore()))
    with pytest.raises(workload.WorkloadError) as shipped:
        traced("tides?", str(tmp_path / "dask.log"))
    assert str(shipped.value) == str(plain.value) == "sampling 'tides?' failed"
    # The next call pays at most once more (the others of the failed call may have run
    # and stored theirs), and its three values are one.
    again = traced("tides?", str(tmp_path / "dask.log"))
    assert len(set(again)) == 1
