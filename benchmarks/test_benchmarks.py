"""pytest-benchmark timings of the hot paths (run: pytest benchmarks --benchmark-only).

Not part of the test suite (``testpaths`` is ``tests``): these measure, they do not
judge. ``bench_*.py`` scripts print ratios against targets.
"""

from __future__ import annotations

from typing import Any

import pytest

from ember.testing.shapes import SHAPES, make_op
from ember.xcs import jit, op


@op
def zero(*inputs: Any) -> int:
    return len(inputs)


def no_ops(x: int = 3) -> int:
    return x * 2 + 1


def fan_out_zero_latency(width: int = 256) -> int:
    return zero(*[zero(i) for i in range(width)])


def test_plain_call(benchmark: Any) -> None:
    assert benchmark(no_ops) == 7


def test_jit_call_without_ops(benchmark: Any) -> None:
    fast = jit(no_ops)
    assert benchmark(fast) == 7


def test_jit_fan_out_of_zero_latency_ops(benchmark: Any) -> None:
    fast = jit(fan_out_zero_latency)
    assert benchmark(fast) == 256


@pytest.mark.parametrize("name", list(SHAPES))
def test_jit_shape_5ms_ops(benchmark: Any, name: str) -> None:
    shape = SHAPES[name]
    fast = jit(shape.build(make_op(0.005)))
    expected = shape.build(make_op(0.0))()
    assert benchmark.pedantic(fast, rounds=5, iterations=1) == expected
