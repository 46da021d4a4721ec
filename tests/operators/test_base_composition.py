"""``>>``, ``Chain`` and call-style detection in ``ember.operators.base``."""

import pytest

import ember.operators.blocks
from ember.operators.base import Chain, Operator, takes_inputs_keyword
from ember.xcs.errors import XCSError
from tests.operators.steps import Exclaim, Upper


class Keyword(Operator):
    def forward(self, *, inputs):
        return inputs


class Positional(Operator):
    def forward(self, value):
        return value


class Mixed(Operator):
    def forward(self, value, *, inputs=None):
        return value


def test_keyword_style_detection():
    assert takes_inputs_keyword(Keyword)
    assert not takes_inputs_keyword(Positional)
    assert not takes_inputs_keyword(Mixed)


def test_rshift_builds_chains_from_either_side():
    assert (Keyword() >> Positional()).steps[0].__class__ is Keyword
    chain = len >> Positional()
    assert chain.steps[0] is len and chain([1, 2]) == 2


def test_chain_and_rshift_compose_both_operator_styles():
    pipeline = Upper() >> Exclaim() >> str.lower
    assert isinstance(pipeline, Chain) and len(pipeline.steps) == 3
    assert pipeline("hi") == "hi!"
    assert (str.strip >> Upper())("  x ") == "X"
    assert Chain(Chain(Upper(), Exclaim()), Exclaim())("a") == "A!!"


def test_chain_rejects_bad_steps():
    with pytest.raises(XCSError):
        Chain()
    with pytest.raises(XCSError, match="callable"):
        Chain(Upper(), 5)


def test_blocks_still_names_chain():
    assert ember.operators.blocks.Chain is Chain and "Chain" in ember.operators.blocks.__all__


def test_chain_takes_pyember_operators_keyword():
    """pyember's ``Chain(operators=[...])`` (its ``__init__(self, operators)``)."""
    pipeline = Chain(operators=[str.strip, Upper(), Exclaim()])
    assert pipeline("  hi ") == "HI!" and pipeline.operators == pipeline.steps
    assert len(pipeline.steps) == 3
    with pytest.raises(XCSError, match="once"):
        Chain(Upper(), operators=[Exclaim()])
    with pytest.raises(XCSError, match="at least one step"):
        Chain(operators=[])


def test_blocks_call_a_jitted_keyword_operator_with_inputs():
    # jit(operator) is a JitFunction wrapping it: every block still calls it as the
    # operator's style asks (inputs=value), as it calls the plain operator.
    from ember.operators.blocks import Ensemble
    from ember.operators.routing import Router
    from ember.xcs import jit

    for step in (Keyword(), jit(Keyword()), jit(jit(Keyword()))):
        assert Chain(step, str.upper)("hi") == "HI"
        assert Ensemble([step, step])("hi") == ["hi", "hi"]
        assert Router({"a": step}, lambda value: "a")("hi") == "hi"
    assert Chain(jit(Positional()), str.upper)("hi") == "HI"
    assert jit(lambda value: Chain(jit(Keyword()), str.upper)(value))("ok") == "OK"


def test_a_jitted_operator_composes_with_rshift_and_stays_jitted():
    from ember.xcs import get_jit_stats, jit

    fast = jit(Keyword())
    forward, backward = fast >> str.upper, str.strip >> fast
    assert isinstance(forward, Chain) and forward.steps[0] is fast
    assert isinstance(backward, Chain) and backward.steps[1] is fast
    assert forward("hi") == "HI" and backward("  hi ") == "hi"
    assert (fast >> jit(Positional()) >> str.upper)("ok") == "OK"
    assert get_jit_stats(fast)["calls"] == 3
    with pytest.raises(TypeError, match="unsupported operand"):
        jit(len) >> str.upper  # a function composes with nothing, jitted or not
