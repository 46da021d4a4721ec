"""Standard DAG shapes of compound AI programs, for benchmarks and ``ember-xcs bench``.

Each shape is a plain Python function written over one op ``call(tag, *inputs)``;
``make_op(latency)`` gives an op that sleeps ``latency`` seconds. Jitting the function
gives the XCS version; building it over another ``call`` (a thread-pool submit, a
``dask.delayed``) gives a peer to compare with. ``critical_path_calls`` says how many
op latencies long the shape's critical path is, ``op_calls`` how many ops it issues.

Example:
    >>> from ember.xcs import jit
    >>> shape = SHAPES["diamond"]
    >>> program = shape.build(make_op(0.0))
    >>> jit(program)() == program() == "bottom(2)"
    True
    >>> shape.critical_path_calls, shape.op_calls
    (3, 4)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ember.xcs.ops import Op

__all__ = ["SHAPES", "Shape", "make_op"]

Call = Callable[..., Any]


def make_op(latency: float) -> Op:
    """An op that waits ``latency`` seconds and returns ``"<tag>(<number of inputs>)"``.

    Args:
        latency: seconds each call sleeps (0 for no wait).

    Returns:
        An ``Op`` named ``call``.

    Example:
        >>> make_op(0.0)("judge", "a", "b")
        'judge(2)'
    """

    def call(tag: str, *inputs: Any) -> str:
        if latency:
            time.sleep(latency)
        return f"{tag}({len(inputs)})"

    return Op(call, name="call")


@dataclass(frozen=True)
class Shape:
    """A benchmark program: ``build(call)`` returns the plain function to run.

    Attributes:
        name: the shape's name, e.g. ``"fan-out-64"``.
        build: makes the program from an op (or any callable with the op's signature).
        critical_path_calls: op latencies on the longest chain of dependent calls.
        op_calls: ops one run issues.
    """

    name: str
    build: Callable[[Call], Callable[[], Any]]
    critical_path_calls: int
    op_calls: int


def _fan_out(width: int) -> Callable[[Call], Callable[[], Any]]:
    def build(call: Call) -> Callable[[], Any]:
        def fan_out() -> list[Any]:
            return [call(f"leaf{i}") for i in range(width)]

        return fan_out

    return build


def _diamond(call: Call) -> Callable[[], Any]:
    def diamond() -> Any:
        top = call("top")
        left, right = call("left", top), call("right", top)
        return call("bottom", left, right)

    return diamond


def _ensemble_judge(call: Call) -> Callable[[], Any]:
    def ensemble_judge() -> Any:
        drafts = [call(f"model{i}", "question") for i in range(8)]
        return call("judge", *drafts)

    return ensemble_judge


def _map_reduce(call: Call) -> Callable[[], Any]:
    def map_reduce() -> Any:
        mapped = [call(f"summarise{i}", f"doc{i}") for i in range(16)]
        partials = [call(f"combine{i}", *mapped[i * 4:(i + 1) * 4]) for i in range(4)]
        return call("reduce", *partials)

    return map_reduce


def _two_stage(call: Call) -> Callable[[], Any]:
    def two_stage() -> list[Any]:
        drafts = [call(f"draft{i}", "question") for i in range(8)]
        return [call(f"refine{i}", draft) for i, draft in enumerate(drafts)]

    return two_stage


def _chain(call: Call) -> Callable[[], Any]:
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
    "two-stage": Shape("two-stage", _two_stage, 2, 16),
    "chain": Shape("chain", _chain, 4, 4),
}
