from __future__ import annotations

import time

import pytest

from ember.xcs import Config, XCSError, get_jit_stats, jit, op, reset_stats


@op
def wait(x: int) -> int:
    time.sleep(0.05)
    return x


@jit(config=Config(profile=True))
def pipeline(n: int) -> int:
    values = [wait(i) for i in range(n)]
    if values[0] >= 0:  # a barrier
        return wait(sum(values))
    return -1


def test_stats_are_measured_facts() -> None:
    reset_stats(pipeline)
    assert pipeline(4) == 6
    stats = get_jit_stats(pipeline)
    assert stats["calls"] == 1 and stats["ops"] == 5
    assert stats["parallel_groups"] == 2 and stats["max_parallelism"] == 4
    assert 95 <= stats["critical_path_ms"] <= 200
    assert stats["sequential_estimate_ms"] >= 240
    assert stats["wall_time_ms"] >= stats["critical_path_ms"] * 0.95
    assert stats["measured_speedup"] > 1.5
    assert 0.5 < stats["efficiency"] <= 1.0
    assert any(b.startswith("bool at ") and "test_stats.py" in b for b in stats["barriers"])
    timings = stats["node_timings"]
    assert len(timings) == 5 and all(t["end_ms"] >= t["start_ms"] for t in timings)


def test_cache_hits_count_repeated_structures() -> None:
    reset_stats(pipeline)
    pipeline(3)
    pipeline(3)
    pipeline(2)
    assert get_jit_stats(pipeline)["cache_hits"] == 1


def test_reset_and_global_view() -> None:
    pipeline(2)
    assert "pipeline" in get_jit_stats()
    reset_stats()
    assert get_jit_stats(pipeline)["calls"] == 0


def test_calls_without_ops_are_counted() -> None:
    plain = jit(lambda x: x + 1)
    assert plain(1) == 2
    stats = get_jit_stats(plain)
    assert stats["calls"] == 1 and stats["nodes"] == 0


def test_stats_of_something_not_jitted() -> None:
    with pytest.raises(XCSError, match="not a jitted function"):
        get_jit_stats(print)


def test_same_named_functions_are_kept_apart() -> None:
    def make() -> object:
        @jit
        def twin(x: int) -> int:
            return wait(x)

        return twin

    first, second = make(), make()
    first(1)
    second(2)
    second(3)
    everything = get_jit_stats()
    twins = [v for k, v in everything.items() if k.startswith("test_same_named")
             or "twin" in k]
    assert sorted(v["calls"] for v in twins) == [1, 2]
