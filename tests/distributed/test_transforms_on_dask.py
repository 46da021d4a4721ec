"""pmap and vmap with ``Config(executor=dask_executor(...))``: items run on the workers."""

from __future__ import annotations

import os

import pytest

from ember.xcs import Config, jit, pmap, vmap
from ember.xcs.distributed import DaskExecutor
from tests.distributed import workload
from tests.distributed.conftest import worker_pids


def test_pmap_runs_items_on_the_workers(healthy: DaskExecutor) -> None:
    mapped = pmap(workload.cube_with_pid, config=Config(executor=healthy))

    result = mapped(list(range(10)))

    assert result["value"] == [workload.cube_with_pid(x)["value"] for x in range(10)]
    pids = set(result["pid"])
    assert os.getpid() not in pids
    assert pids <= worker_pids(healthy)


def test_pmap_exception_keeps_its_type(healthy: DaskExecutor) -> None:
    mapped = pmap(workload.checked, config=Config(executor=healthy))

    assert mapped([1, 2]) == [101, 102]
    with pytest.raises(workload.WorkloadError, match="negative input -3"):
        mapped([1, -3, 5])


def test_vmap_dict_form_on_dask_equals_a_loop(healthy: DaskExecutor) -> None:
    mapped = vmap(workload.describe, config=Config(executor=healthy))
    inputs = {"data": ["a", "b", "c"], "id": [1, 2, 3], "options": {"suffix": "!"}}

    result = mapped(inputs=inputs)

    expected = [workload.describe({"data": d, "id": i, "options": {"suffix": "!"}})
                for d, i in zip(inputs["data"], inputs["id"])]
    assert result == expected == ["1:a!", "2:b!", "3:c!"]


def test_pmap_inside_a_jitted_function_runs_on_the_callers_executor(
    healthy: DaskExecutor,
) -> None:
    mapped = pmap(workload.cube_with_pid)  # no executor of its own: joins the trace

    def pipeline(xs: list[int]) -> tuple[int, list[int]]:
        result = mapped(xs)
        return sum(result["value"]) + 1, result["pid"]

    traced = jit(pipeline, config=Config(executor=healthy))

    total, pids = traced([1, 2, 3])
    assert total == pipeline([1, 2, 3])[0] == 37
    assert os.getpid() not in set(pids)


def test_execute_runs_a_recorded_graph_on_the_workers(healthy: DaskExecutor) -> None:
    from ember.xcs import autograph, execute, execution_options, placeholder

    with autograph() as graph:
        x = placeholder("x")
        first = workload.square(x)
        second = workload.square(x)
        total = workload.add(first[0], second[0])  # noqa: F841 - autograph reads it by name

    results = execute(graph, options=execution_options(executor=healthy, scheduler="parallel"),
                      inputs={"x": 3})
    assert results["total"] == 18
    assert results["first"][0] == 9 and results["first"][1] != os.getpid()
    assert results["first"][1] in worker_pids(healthy)
    with pytest.raises(Exception, match="executor"):
        execution_options(executor="gpu")
