"""The call log: the IR built from it, and its one-pass shape, agree with analysis."""

from __future__ import annotations

import random
import time

import pytest

from ember.xcs import get_jit_stats, jit, op
from ember.xcs.api import records as records_module
from ember.xcs.api.records import _last_call_facts
from ember.xcs.api.stats import _stats_of
from ember.xcs.engine.task import Task


@op
def work(*values: object) -> int:
    time.sleep(0.0005 * random.random())
    return sum(v for v in values if isinstance(v, int))


@jit
def tangled(n: int, stride: int) -> int:
    values = [work(i) for i in range(n)]
    picked = []
    for i in range(n):
        value = work(values[i], values[(i * stride) % n])
        if i % 5 == 0 and value:  # a barrier now and then
            picked.append(work(value))
        picked.append(value + 1)
    return work(*picked[:10])


@pytest.mark.parametrize(("n", "stride"), [(1, 1), (7, 3), (40, 7), (60, 11)])
def test_the_shape_of_a_log_equals_the_analysis_of_its_graph(n: int, stride: int,
                                                             monkeypatch) -> None:
    tangled(n, stride)
    last = _stats_of(tangled).last
    from_graph = _last_call_facts(last, cache=False)
    monkeypatch.setattr(records_module, "GRAPH_LIMIT", 0)  # force the one-pass path
    from_shape = _last_call_facts(last, cache=False)
    for key in ("nodes", "ops", "node_kinds", "parallel_groups", "max_parallelism",
                "critical_path_ms", "critical_path", "op_time_ms", "efficiency"):
        assert from_shape[key] == from_graph[key], key


def test_a_log_keeps_no_engine_task() -> None:
    import gc

    tangled(10, 3)
    gc.unfreeze()  # tests/conftest.py freezes earlier tests' objects: look at them all
    gc.collect()
    assert not any(type(o) is Task for o in gc.get_objects())
    assert get_jit_stats(tangled)["ops"] > 0
