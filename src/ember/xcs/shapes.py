"""Standard DAG shapes of compound AI programs, for ``ember-xcs bench`` and benchmarks.

Each shape is a plain Python function over one op ``call(tag, *inputs)`` that sleeps
``latency`` seconds; jitting it gives the XCS version, and ``critical_path_calls``
says how many op latencies long its critical path is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.xcs.ops import Op

__all__ = ["SHAPES", "Shape", "make_op"]


def make_op(latency: float) -> Op:
    """An op that waits ``latency`` seconds and returns a small string of its inputs."""

    def call(tag: str, *inputs: Any) -> str:
        if latency:
            time.sleep(latency)
        return f"{tag}({len(inputs)})"

    return Op(call, name="call")


@dataclass(frozen=True)
class Shape:
    """A benchmark program: ``build(op)`` returns the plain function to run."""

    name: str
    build: Callable[[Op], Callable[[], Any]]
    critical_path_calls: int
    op_calls: int


def _fan_out(width: int) -> Callable[[Op], Callable[[], Any]]:
    def build(call: Op) -> Callable[[], Any]:
        def fan_out() -> list[Any]:
            return [call(f"leaf{i}") for i in range(width)]

        return fan_out

    return build


def _diamond(call: Op) -> Callable[[], Any]:
    def diamond() -> Any:
        top = call("top")
        left, right = call("left", top), call("right", top)
        return call("bottom", left, right)

    return diamond


def _ensemble_judge(call: Op) -> Callable[[], Any]:
    def ensemble_judge() -> Any:
        drafts = [call(f"model{i}", "question") for i in range(8)]
        return call("judge", *drafts)

    return ensemble_judge


def _map_reduce(call: Op) -> Callable[[], Any]:
    def map_reduce() -> Any:
        mapped = [call(f"summarise{i}", f"doc{i}") for i in range(16)]
        partials = [call(f"combine{i}", *mapped[i * 4:(i + 1) * 4]) for i in range(4)]
        return call("reduce", *partials)

    return map_reduce


def _chain(call: Op) -> Callable[[], Any]:
    def chain() -> Any:
        value: Any = "start"
        for step in range(4):
            value = call(f"step{step}", value)
        return value

    return chain


SHAPES: dict[str, Shape] = {
    "fan-out-64": Shape("fan-out-64", _fan_out(64), 1, 64),
    "diamond": Shape("diamond", _diamond, 3, 4),
    "ensemble+judge": Shape("ensemble+judge", _ensemble_judge, 2, 9),
    "map-reduce": Shape("map-reduce", _map_reduce, 3, 21),
    "chain": Shape("chain", _chain, 4, 4),
}
