"""autograph(): op calls are recorded, not run; outputs are named after the block's variables."""

from __future__ import annotations

import dataclasses
import re
import threading

import pytest

from ember.operators import Operator
from ember.xcs import GraphError, NodeKind, autograph, execute, jit, op, placeholder
from ember.xcs.graphs import Recording

calls: list[str] = []


@op
def op1(*, inputs):
    calls.append("op1")
    return {"query": inputs["query"], "draft": inputs["query"].upper()}


@op
def op2(*, inputs):
    calls.append("op2")
    return {"query": inputs["query"], "critique": f"critique of {inputs['draft']}"}


@op
def op3(*, inputs):
    calls.append("op3")
    return f"final: {inputs['critique']}"


@pytest.fixture(autouse=True)
def _clear_calls():
    calls.clear()


def test_seed_example_records_without_running():
    with autograph() as graph:
        x = op1(inputs={"query": "Example"})
        y = op2(inputs=x)
        z = op3(inputs=y)
    assert calls == []
    assert isinstance(graph, Recording)
    assert [n.name for n in graph.graph.nodes] == ["op1", "op2", "op3"]
    assert list(graph.graph.outputs) == ["x", "y", "z"]
    assert str(graph) == (
        "{ lambda .\n"
        "  let x = op1(inputs={'query': 'Example'})\n"
        "      y = op2(inputs=x)\n"
        "      z = op3(inputs=y)\n"
        "  in {'x': x, 'y': y, 'z': z} }"
    )
    del x, y, z


def test_lifted_operations_and_containers_become_outputs():
    with autograph() as graph:
        x = op1(inputs={"query": "q"})
        draft = x["draft"]
        both = [x, draft.lower()]  # noqa: F841 - read back by name
        label = "not a symbol"
    g = graph.graph
    assert [n.kind for n in g.nodes] == [NodeKind.OP, NodeKind.LIFTED, NodeKind.LIFTED,
                                         NodeKind.LIFTED]
    assert set(g.outputs) == {"x", "draft", "both"}
    results = execute(graph)
    assert results["draft"] == "Q"
    assert results["both"] == [{"query": "q", "draft": "Q"}, "q"]
    assert label == "not a symbol"


def test_barrier_operations_raise_a_graph_error_naming_the_fix():
    with pytest.raises(GraphError, match="@op"), autograph():
        x = op1(inputs={"query": "q"})
        if x:
            pass
    with pytest.raises(GraphError, match="f-string"), autograph():
        x = op1(inputs={"query": "q"})
        f"{x}"


def test_a_value_needed_inside_a_jitted_function_names_it_and_the_line():
    @op
    def draft(q):
        return f"draft about {q}"

    @jit
    def answer(q):
        d = draft(q)
        if len(d) > 20:
            return d[:20] + "..."
        return d

    assert answer("tides and moons") == "draft about tides an..."
    with pytest.raises(GraphError) as info, autograph():
        answer(placeholder("q"))
    message = str(info.value)
    here = __file__
    needed = answer.__wrapped__.__code__.co_firstlineno + 3  # @jit's line + 3: the `if`
    assert f"len() at {here}:{needed} needs the value" in message
    assert f"answer` ({here}:" in message and "is @jit" in message  # its qualified name
    assert "answer` an @op" in message and "outside the autograph() block" in message
    assert "use @jit" not in message
    with pytest.raises(GraphError) as plain, autograph():  # no jitted function: no name
        if len(draft(placeholder("q"))) > 20:
            pass
    assert "is @jit" not in str(plain.value) and "@op" in str(plain.value)
    assert "use @jit" not in str(plain.value)


def test_failed_block_leaves_no_graph():
    recording = autograph()
    with pytest.raises(ZeroDivisionError), recording:
        op1(inputs={"query": "q"})
        1 / 0
    with pytest.raises(GraphError, match="ZeroDivisionError"):
        recording.graph


def test_graph_is_unavailable_while_recording_and_single_use():
    with autograph() as graph:
        with pytest.raises(GraphError, match="still being recorded"):
            graph.graph
    with pytest.raises(GraphError, match="one `with` block"), graph:
        pass


def test_placeholder_outside_a_block_and_foreign_symbols():
    with pytest.raises(GraphError, match="inside a `with autograph"):
        placeholder("q")
    with autograph():
        outer = placeholder("q")
        assert placeholder("q") is outer
        with pytest.raises(GraphError, match="another autograph"), autograph():
            op3(inputs=outer)


@pytest.mark.parametrize(("name", "got", "suggested"), [
    (1, "got int 1", "'query'"),
    (None, "got NoneType None", "'query'"),
    (["q"], r"got list \['q'\]", "'query'"),
    ("", "got an empty str", "'query'"),
    ("my query", "got 'my query'", "'my_query'"),
    ("a.b", "got 'a.b'", "'a_b'"),
    ("class", "got 'class'", "'class_'"),
])
def test_placeholder_names_must_be_identifiers_checked_at_the_call(name, got, suggested):
    with autograph(), pytest.raises(GraphError) as info:
        placeholder(name)
    assert re.search(f"needs a Python identifier.*{got}.*placeholder\\({suggested}\\)",
                     str(info.value))
    assert info.traceback[-1].name == "_check_input_name"  # raised at the call, not later


def test_identifier_placeholder_names_print_and_bind():
    with autograph() as graph:
        loud = op3(inputs={"critique": placeholder("user_text")})  # noqa: F841 - by name
    assert str(graph).startswith("{ lambda user_text. ")
    assert execute(graph, inputs={"user_text": "hi"}) == {"loud": "final: hi"}


def test_symbols_cannot_be_used_after_the_block():
    with autograph():
        x = op1(inputs={"query": "q"})
    with pytest.raises(GraphError, match="after its autograph"):
        x["draft"]


@pytest.mark.parametrize(("use", "what"), [
    (str, r"str\(\) / f-string"),
    (lambda x: f"{x}", r"format\(\) / f-string"),
    (bool, r"bool\(\) / if / while"),
    (len, r"len\(\)"),
    (hash, r"hash\(\) / a dict key"),
    (lambda x: x + "!", "add"),
])
def test_a_value_needed_after_the_block_says_the_block_ended(use, what):
    with autograph():
        x = op3(inputs={"critique": placeholder("q")})
    with pytest.raises(GraphError) as info:
        use(x)
    message = str(info.value)
    assert re.match(f"{what}( at .*test_recording.py:\\d+)? was applied to a symbol of graph "
                    "'graph' after its autograph\\(\\) block ended", message), message
    assert "Use execute(graph) to get values" in message
    assert "inside autograph()" not in message and "@op" not in message


def test_operators_and_jitted_functions_are_recorded_inline():
    class Draft(Operator):
        def forward(self, *, inputs):
            return op1(inputs=inputs)

    @jit
    def pipeline(query):
        return op3(inputs=op2(inputs=Draft()(inputs={"query": query})))

    with autograph() as graph:
        answer = pipeline("hello")  # noqa: F841 - read back by name
    assert calls == []
    assert [n.name for n in graph.graph.nodes] == ["op1", "op2", "op3"]
    assert execute(graph)["answer"] == "final: critique of HELLO"


def test_other_threads_run_ops_normally():
    results = []
    with autograph() as graph:
        thread = threading.Thread(target=lambda: results.append(op3(inputs={"critique": "c"})))
        thread.start()
        thread.join()
    assert results == ["final: c"]
    assert len(graph) == 0


def test_node_locations_point_at_user_code():
    with autograph() as graph:
        x = op1(inputs={"query": "q"})
    location = graph.graph.nodes[0].location
    assert location is not None and location.filename == __file__
    assert location.function == "test_node_locations_point_at_user_code"
    del x


def test_module_level_recording(tmp_path):
    source = (
        "from ember.xcs import autograph, execute, op\n"
        "@op\n"
        "def inc(v):\n"
        "    return v + 1\n"
        "with autograph() as graph:\n"
        "    a = inc(1)\n"
        "    b = inc(a)\n"
        "RESULT = execute(graph)\n"
    )
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "m.py"), "exec"), namespace)
    assert namespace["RESULT"] == {"a": 2, "b": 3}


def test_lift_records_a_lifted_node_and_holds_symbols_finds_nested_symbols():
    @op
    def shout(text):
        return text.upper()

    with autograph() as graph:
        loud = shout(placeholder("text"))
        assert graph.holds_symbols({"a": [1, (loud,)]})
        assert not graph.holds_symbols({"a": [1, ("plain",)]})
        joined = graph.lift("join", "-".join, ([loud, loud],), {})  # noqa: F841 - by name
    assert [node.kind for node in graph.graph.nodes][-1] is NodeKind.LIFTED
    assert execute(graph, inputs={"text": "hi"})["joined"] == "HI-HI"


def test_a_method_call_on_a_symbol_records_what_it_may_do():
    @op
    def fetch():
        return ["b", "a"]

    with autograph() as graph:
        rows = fetch()
        rows.strip()  # only reads its object
        rows.append("c")  # changes it in place: ordered with its other uses
        rows.notify()  # may act outside the value: an effect, in program order
        rows()  # a callable an op returned: the same
    calls = [(n.mutates, n.effect) for n in graph.graph.nodes if n.name == "call"]
    assert calls == [(False, False), (True, False), (False, True), (False, True)]


class _Rows(list):
    def header(self):
        return self[0]


class _Settings(dict):
    def __init__(self, source):  # another constructor than dict's
        super().__init__(source)
        self.origin = "file"


def test_container_subclasses_reach_the_op_with_their_class_and_behaviour():
    import collections

    @op
    def describe(counts, buckets, ordered, rows, settings, tags, history):
        fresh = buckets.copy()
        fresh["new"].append(1)  # default_factory: a missing key becomes a list
        return (counts.most_common(1), fresh["new"], type(ordered).__name__,
                rows.header(), (settings.origin, dict(settings)), type(tags).__name__,
                (type(history).__name__, history.maxlen))

    args = (collections.Counter("abb"), collections.defaultdict(list),
            collections.OrderedDict(a=1), _Rows([["id"], [1]]), _Settings({"k": 1}),
            frozenset({"t"}), collections.deque([1], maxlen=2))
    with autograph() as graph:
        got = describe(*args)  # noqa: F841 - read back by name
    assert execute(graph)["got"] == (
        [("b", 2)], [1], "OrderedDict", ["id"], ("file", {"k": 1}), "frozenset",
        ("deque", 2))


def test_lists_and_sets_are_captured_at_the_call_alike():
    @op
    def count(values):
        return len(values)

    tags_list, tags_set, tags_dict = ["a"], {"a"}, {"a": 1}
    with autograph() as graph:
        n_list = count(tags_list)  # noqa: F841 - read back by name
        n_set = count(tags_set)  # noqa: F841 - read back by name
        n_dict = count(tags_dict)  # noqa: F841 - read back by name
        tags_list.append("b")
        tags_set.add("b")  # plain Python: count has run already
        tags_dict["b"] = 2
    assert execute(graph) == {"n_list": 1, "n_set": 1, "n_dict": 1}


@op
def _clean(text):
    return text.strip()


@dataclasses.dataclass(frozen=True)
class Request:
    prompt: object
    max_tokens: int = 16


def test_a_recorded_value_inside_a_dataclass_deque_or_object_reaches_the_op_resolved():
    import collections
    import types

    class Slotted:
        __slots__ = ("text", "tags")

        def __init__(self, text, tags):
            self.text, self.tags = text, tags

    @op
    def show(req, history, ns, slotted, nested):
        return (repr(req), history[-1] + "!", ns.text.upper(), (slotted.text, slotted.tags),
                nested["reqs"][0].prompt)

    request = None
    with autograph() as graph:
        p = _clean(placeholder("q"))
        request = Request(p)
        out = show(request, collections.deque([p]), types.SimpleNamespace(text=p),  # noqa: F841
                   Slotted(p, ["t"]), {"reqs": [Request(p, 8)]})
    expected = ("Request(prompt='hi', max_tokens=16)", "hi!", "HI", ("hi", ["t"]), "hi")
    assert execute(graph, inputs={"q": "  hi  "})["out"] == expected
    assert execute(graph, inputs={"q": " yo "})["out"][0] == \
        "Request(prompt='yo', max_tokens=16)"  # rebuilt for each execution
    assert type(request.prompt).__name__ == "Symbol"  # the caller's object is left alone
    assert "Request(prompt=p)" in str(graph)


def test_a_record_that_cannot_be_rebuilt_raises_at_the_call_naming_op_argument_and_fix():
    class Uncopyable:
        def __init__(self, text):
            self.text = text

        def __reduce_ex__(self, protocol):
            raise TypeError("no copies")

    class Node:
        def __init__(self, text):
            self.text, self.parent = text, self

    @op
    def use(value, *, extra=None):
        return value

    with autograph():
        p = _clean("x")
        with pytest.raises(GraphError, match=r"'use' at .*test_recording.py:\d+: its argument "
                           r"1 holds a recorded value inside a Uncopyable \(in text\).*no "
                           r"copies.*Pass the recorded value to the op"):
            use(Uncopyable(p))
        with pytest.raises(GraphError, match=r"argument 'extra' holds .* inside a Node.*holds "
                           r"itself"):
            use(1, extra=Node(p))



def test_a_recorded_value_inside_a_named_tuple_is_resolved():
    from collections import namedtuple

    Query = namedtuple("Query", "text lang")

    @op
    def translate(q, *, also):
        return f"[{q.lang}] {q.text} {type(q).__name__} {also.text}"

    with autograph() as graph:
        t = _clean(placeholder("raw"))
        query = Query(t, "fr")
        out = translate(query, also=Query((t,), "x")._replace(text=t))  # noqa: F841
    values = execute(graph, inputs={"raw": " bonjour "})
    assert values["out"] == "[fr] bonjour Query bonjour"
    assert values["query"] == Query("bonjour", "fr") and type(values["query"]) is Query


def test_a_recording_never_entered_says_so() -> None:
    recording = autograph()
    assert repr(recording) == "<autograph 'graph': not recorded>"
    for use in (lambda: recording.graph, lambda: execute(recording)):
        with pytest.raises(GraphError, match=r"^graph 'graph' was never recorded: autograph\(\) "
                                             r"records inside `with autograph\(\) as g:`"):
            use()
