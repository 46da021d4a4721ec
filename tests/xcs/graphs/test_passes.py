"""Graph passes: pure Graph -> Graph functions."""

from __future__ import annotations

import pytest

from ember.xcs import GraphError, autograph, execute, op
from ember.xcs.graphs import (
    eliminate_dead_nodes,
    merge_duplicates,
    prune_to_outputs,
    rename_vars,
)
from ember.xcs.ir import Graph


@op(deterministic=True)
def square(x):
    return x * x


@op
def sample(prompt):
    return prompt


@op(effect=True)
def write(value):
    return value


def test_dead_node_elimination_keeps_outputs_and_effects():
    with autograph() as recording:
        kept = square(2)
        square(3)  # unbound: dead
        write(square(4))  # effect: kept with its input
    graph = recording.graph
    result = eliminate_dead_nodes(graph)
    assert [n.name for n in result.nodes] == ["square", "square", "write"]
    assert [n.id for n in result.nodes] == [0, 2, 3]
    assert len(graph) == 4  # the input graph is unchanged
    del kept


def test_prune_to_outputs_keeps_only_the_dependencies():
    with autograph() as recording:
        a = square(2)
        b = square(a)  # noqa: F841 - read back by name
        c = square(3)
        d = write(c)
    pruned = prune_to_outputs(recording.graph, ["b"])
    assert [n.id for n in pruned.nodes] == [0, 1]
    assert list(pruned.outputs) == ["b"]
    with pytest.raises(GraphError, match="'nope'"):
        prune_to_outputs(recording.graph, ["nope"])
    with pytest.raises(GraphError, match="no named outputs"):
        prune_to_outputs(Graph(nodes=()), ["b"])
    del d


def test_merge_duplicates_only_for_deterministic_ops():
    with autograph() as recording:
        a = square(3)
        b = square(3)
        c = square(a)
        d = square(b)  # duplicate of c once b is merged into a
        e = square(3.0)  # different literal type: not merged
        s1 = sample("hi")
        s2 = sample("hi")  # sampling op: never merged
        w1 = write(1)
        w2 = write(1)  # effects: never merged
        k1 = a["x"] if False else a + 1
        k2 = a + 1  # lifted operations are deterministic
    graph = recording.graph
    merged = merge_duplicates(graph)
    assert [n.name for n in merged.nodes] == ["square", "square", "square", "sample", "sample",
                                              "write", "write", "add"]
    results = execute(merged)
    assert results == execute(graph)
    assert merged.outputs["b"] == merged.outputs["a"]
    assert merged.outputs["d"] == merged.outputs["c"]
    assert merged.outputs["s1"] != merged.outputs["s2"]
    del c, d, e, s1, s2, w1, w2, k1, k2


def test_merge_compares_containers_but_skips_unhashable_literals():
    with autograph() as recording:
        a = square([1, {"k": (2,)}])
        b = square([1, {"k": (2,)}])
        c = square(bytearray(b"x"))
        d = square(bytearray(b"x"))
    assert [n.id for n in merge_duplicates(recording.graph).nodes] == [0, 2, 3]
    del a, b, c, d


def test_rename_vars_renames_everywhere():
    with autograph() as recording:
        a = square(2)
        b = square(a)
    graph = recording.graph
    renamed = rename_vars(graph, {graph.nodes[0].output.id: "base"})
    assert str(renamed) == (
        "{ lambda . let base = square(2); b = square(base) in {'a': base, 'b': b} }"
    )
    del b


def test_passes_keep_the_in_place_changes_a_value_shows():
    from ember.xcs import placeholder

    @op
    def rows():
        return [3, 1]

    with autograph() as recording:
        given = placeholder("given")
        given.append(0)  # changes the caller's list: kept although nothing reads it
        q = rows()
        q.sort()
        n = square(2)  # noqa: F841 - read back by name
    graph = recording.graph
    assert [n.name for n in eliminate_dead_nodes(graph).nodes] == [
        "getattr", "call", "rows", "getattr", "call", "square"]
    assert [n.name for n in prune_to_outputs(graph, ["q"]).nodes] == [
        "rows", "getattr", "call"]  # q as an output is sorted
    mine = []
    assert execute(graph, inputs={"given": mine}, output_nodes=["q"]) == {"q": [1, 3]}
    assert execute(eliminate_dead_nodes(graph), inputs={"given": mine})["q"] == [1, 3]
    assert mine == [0]


def test_merge_needs_literals_no_call_can_tell_apart():
    import math
    from decimal import Decimal

    from ember.xcs import placeholder

    @op(deterministic=True)
    def direction(x):
        return math.copysign(1.0, x)

    @op(deterministic=True)
    def render(amount):
        return f"{amount!r}"

    with autograph() as recording:
        east = direction(0.0)
        west = direction(-0.0)  # == 0.0, but another sign
        a = render(Decimal("1.0"))
        b = render(Decimal("1.00"))  # == Decimal("1.0"), but printed otherwise
        one, true, one_f = render(1), render(True), render(1.0)  # 1 == True == 1.0
        nested = render([0.0]), render([-0.0])
        same = render(Decimal("2.5")), render(Decimal("2.5"))
        x = placeholder("x")
        p = x + 0.0  # lifted operations too
        n = x + -0.0
    graph = recording.graph
    merged = merge_duplicates(graph)
    assert execute(merged, inputs={"x": -0.0}) == execute(graph, inputs={"x": -0.0})
    values = execute(merged, inputs={"x": -0.0})
    assert (values["east"], values["west"], values["a"], values["b"]) == (
        1.0, -1.0, "Decimal('1.0')", "Decimal('1.00')")
    assert (values["one"], values["true"], values["one_f"]) == ("1", "True", "1.0")
    assert math.copysign(1.0, values["n"]) == -1.0
    assert len(merged) == len(graph) - 1  # only the two Decimal("2.5") calls merge
    del east, west, a, b, one, true, one_f, nested, same, p, n


def test_merge_keeps_apart_values_changed_in_place():
    @op(deterministic=True)
    def listed(x):
        return [x]

    with autograph() as recording:
        a = listed(1)
        b = listed(1)  # plain Python: another list
        a.append(2)
        first = a[0]
        a.pop(0)
        again = a[0]  # after the pop: another value
    values = execute(merge_duplicates(recording.graph))
    assert values["b"] == [1] and values["a"] == [2]
    assert (values["first"], values["again"]) == (1, 2)
    del b, first, again
