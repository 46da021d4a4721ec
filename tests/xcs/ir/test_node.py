from __future__ import annotations

from ember.xcs.ir.node import Node, NodeKind, SourceLocation, Var, iter_vars, map_vars


def test_pytree_helpers() -> None:
    tree = {"x": [Var(1), (Var(2), 3)], "y": {Var(4)}}
    assert sorted(v.id for v in iter_vars(tree)) == [1, 2, 4]
    mapped = map_vars(tree, lambda v: v.id * 10)
    assert mapped == {"x": [10, (20, 3)], "y": {40}}


def test_node_defaults() -> None:
    node = Node(0, NodeKind.LIFTED, "getitem")
    assert node.args == () and node.kwargs == () and node.output is None


def test_node_inputs_are_distinct_vars_in_argument_order() -> None:
    a, b = Var(1, "a"), Var(2)
    node = Node(3, NodeKind.OP, "f", args=(b, [a, b]), kwargs=(("k", a),), output=Var(4))
    assert node.inputs == (b, a) and node.is_op
    assert not Node(5, NodeKind.LIFTED, "getitem", args=(a, 0)).is_op


def test_source_location_prints_file_and_line() -> None:
    location = SourceLocation("/work/app/main.py", 12, "answer")
    assert str(location) == "/work/app/main.py:12" and location.short == "main.py:12"


def test_map_vars_keeps_container_classes_and_shares_only_when_asked() -> None:
    import collections

    literal = collections.Counter("ab")
    tree = (collections.OrderedDict(k=Var(1)), literal)
    mapped = map_vars(tree, lambda v: v.id)
    assert type(mapped[0]) is collections.OrderedDict and mapped[0] == {"k": 1}
    assert type(mapped[1]) is collections.Counter and mapped[1] is not literal  # a copy
    assert map_vars(tree, lambda v: v.id, share=True)[1] is literal
