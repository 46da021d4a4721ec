"""Parsing NON node strings."""

from __future__ import annotations

import pytest

from ember.non import NodeRole, NonSpecError, parse_node_spec
from ember.non.notation import NonNode, format_node, split_outside


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


@pytest.mark.parametrize(
    "value",
    ["plain", "it's", 'say "hi"', "it's \"both\"", "a; b, c\nd (e)", "", 0, -3, 0.7, 1e-05,
     True, False, None, ["x", "y"], ['a"b', "c,d", 1], {"k": [1, {"n": None}]}],
)
def test_every_parameter_value_round_trips(value):
    node = parse_node_spec("2E!alias@simulated/a(temp=0.5)")
    node = NonNode(node.id, node.type, node.count, node.model, {"v": value, "w": 1}, "")
    written = format_node(node)
    again = parse_node_spec(written)
    assert dict(again.params) == {"v": value, "w": 1}, written
    assert type(again.params["v"]) is type(value)
    assert (again.id, again.count, again.model) == ("alias", 2, "simulated/a")
    assert format_node(again) == written == str(again)


def test_split_outside_keeps_quoted_and_bracketed_separators():
    assert split_outside('a(x="1; 2"), b; c\nd', ",;\n") == ['a(x="1; 2")', "b", "c", "d"]
    assert split_outside('[ "a\\"; b" ], c', ",;") == ['[ "a\\"; b" ]', "c"]
    assert split_outside("'it''s; fine'; x", ";") == ["'it''s; fine'", "x"]


@pytest.mark.parametrize("spec, problem", [
    ("3:E:simulated/a:warm", "should be a temperature"),
    ("3:E:simulated:a:warm", "'warm' is not a number"),
    ("3:E:simulated:a:0.5:extra", "wrong number"),
])
def test_ambiguous_colon_forms_show_both_forms(spec, problem):
    with pytest.raises(NonSpecError, match=problem) as caught:
        parse_node_spec(spec)
    assert "count:TYPE:model:temperature" in str(caught.value)
    assert "count:TYPE:provider:model[:temperature]" in str(caught.value)
