"""Stress: very large graphs, many threads, many calls (DESIGN §9)."""

from __future__ import annotations

import threading

import pytest

from ember.xcs import get_jit_stats, jit, op
from ember.xcs.analysis import report
from ember.xcs.tracing import frames, rewrite, versions


@op
def add(a: int, b: int) -> int:
    return a + b


@jit
def tree_sum(values: list[int]) -> int:
    layer = list(values)
    while len(layer) > 1:
        layer = [add(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                 for i in range(0, len(layer), 2)]
    return layer[0]


@pytest.mark.timeout(120)
def test_ten_thousand_node_graph() -> None:
    values = list(range(10_001))
    assert tree_sum(values) == sum(values)
    stats = get_jit_stats(tree_sum)
    assert stats["ops"] == 10_000
    assert stats["parallel_groups"] == 14 and stats["max_parallelism"] == 5_000


@pytest.mark.timeout(120)
def test_sixty_four_threads() -> None:
    errors: list[str] = []

    def worker(seed: int) -> None:
        for call in range(10):
            values = list(range(seed, seed + call + 2))
            if tree_sum(values) != sum(values):
                errors.append(f"{seed}/{call}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.timeout(300)
def test_caches_stay_bounded_over_100000_calls() -> None:
    @jit
    def tiny(x: int) -> int:
        return add(x, 1)

    for x in range(100_000):
        assert tiny(x) == x + 1
    assert get_jit_stats(tiny)["calls"] == 100_000
    assert len(report._cache) <= report._CACHE_SIZE
    assert len(frames._facts) <= frames._CACHE_LIMIT
    for cache in (versions._ranges, versions._names, versions._observing):
        assert len(cache) <= versions._CACHE_LIMIT + 1
    assert len(rewrite._code_cache) <= rewrite._CACHE_LIMIT + 1
    assert threading.active_count() < 600
