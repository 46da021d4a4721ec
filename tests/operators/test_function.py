"""``op``: functions as Operators scheduled as one op."""

from __future__ import annotations

import asyncio

import pytest

from ember.operators import FunctionOperator, op
from ember.xcs import XCSError, explain, jit


def test_op_options_reach_the_xcs_op():
    @op(name="write", effect=True, max_concurrency=2)
    def write(x):
        return x

    assert isinstance(write, FunctionOperator) and write.effect
    assert write.as_op().name == "write" and write.as_op().max_concurrency == 2
    with pytest.raises(XCSError, match="max_concurrency"):
        op(max_concurrency=0)(lambda x: x)
    with pytest.raises(TypeError, match="callable"):
        op(3)


def test_op_of_an_op_function_is_itself_and_names_appear_in_explain():
    @op
    def inc(x):
        return x + 1

    assert op(inc) is inc and repr(inc) == "op(inc)"

    @jit
    def twice(x):
        return inc(inc(x))

    assert twice(1) == 3
    assert "inc" in explain(twice)


def test_async_op_validates_and_runs():
    @op
    async def slow_upper(text: str) -> str:
        await asyncio.sleep(0.01)
        return text.upper()

    @jit
    def both(a, b):
        return [slow_upper(a), slow_upper(b)]

    assert both("a", "b") == ["A", "B"]


def test_methods_decorated_with_op_get_self():
    class Greeter:
        prefix = "hi "

        @op
        def greet(self, name):
            return self.prefix + name

    assert Greeter().greet("ada") == "hi ada"
