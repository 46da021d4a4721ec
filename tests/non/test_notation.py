"""Parsing NON node strings."""

from __future__ import annotations

import pytest

from ember.non import NodeRole, NonSpecError, parse_node_spec


def test_full_syntax():
    node = parse_node_spec('2E!drafts@openai/gpt-4o(temp=0.7, max_tokens=64, stop=["x"], '
                           'style="a, b", json=true)', index=4)
    assert (node.id, node.count, node.model, node.type.role) == (
        "drafts", 2, "openai/gpt-4o", NodeRole.ENSEMBLE)
    assert dict(node.params) == {"temperature": 0.7, "max_tokens": 64, "stop": ["x"],
                                 "style": "a, b", "json": True}


def test_defaults_and_aliases():
    judge = parse_node_spec("jf@simulated/j", index=1)
    assert (judge.type.code, judge.count, judge.id) == ("J", 1, "j2")
    assert parse_node_spec("MC").type.role is NodeRole.AGGREGATOR
    assert str(parse_node_spec("3UE@simulated/a(temp=1)")) == "3E@simulated/a(temperature=1)"


@pytest.mark.parametrize("spec", ["", "5", "E@", "0E@simulated/a", "x:E", 5])
def test_malformed(spec):
    with pytest.raises(NonSpecError):
        parse_node_spec(spec)
