"""ember.testing.shapes: each shape issues the ops and has the critical path it claims."""

from __future__ import annotations

import doctest
from dataclasses import dataclass
from typing import Any

import pytest

from ember.testing import shapes
from ember.testing.shapes import SHAPES, make_op
from ember.xcs import jit


@dataclass(frozen=True)
class _Depth:
    """What a recording call returns: how many calls long the chain behind it is."""

    depth: int


def _deepest(tree: Any) -> int:
    if isinstance(tree, _Depth):
        return tree.depth
    if isinstance(tree, list | tuple):
        return max((_deepest(item) for item in tree), default=0)
    return 0


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_issues_its_ops_and_has_its_critical_path(name: str) -> None:
    shape = SHAPES[name]
    calls: list[str] = []

    def record(tag: str, *inputs: Any) -> _Depth:
        calls.append(tag)
        return _Depth(1 + max((_deepest(i) for i in inputs), default=0))

    result = shape.build(record)()

    assert len(calls) == shape.op_calls
    assert len(set(calls)) == shape.op_calls  # every call has its own tag
    assert _deepest(result) == shape.critical_path_calls
    assert shape.name == name


@pytest.mark.parametrize("name", list(SHAPES))
def test_jitted_shape_equals_plain_python(name: str) -> None:
    program = SHAPES[name].build(make_op(0.0))

    assert jit(program)() == program()


def test_make_op_sleeps_its_latency() -> None:
    import time

    call = make_op(0.02)
    started = time.perf_counter()
    assert call("judge", "a", "b") == "judge(2)"
    assert time.perf_counter() - started >= 0.02


def test_docstring_examples() -> None:
    results = doctest.testmod(shapes)
    assert results.attempted >= 3 and results.failed == 0
