"""autograph(): a function that reads a placeholder from its closure or globals.

A transform's per-item function reading a recorded value (``vmap(lambda x: join(x, p))``)
gets it through its node (each item's node takes the value as an argument), or, when
it reads it through a helper, runs in the block so that its op calls take it; either
way each ``execute`` gives the plain answer for its inputs. An op reading one by itself
is refused at its call, naming the value and the fix, instead of failing at ``execute``.
"""

from __future__ import annotations

import functools

import pytest

from ember.xcs import (
    DeviceMesh,
    GraphError,
    PartitionSpec,
    autograph,
    execute,
    jit,
    mesh_sharded,
    op,
    placeholder,
    pmap,
    vmap,
)


@op
def join(a, b):
    return f"{a}|{b}"


def _plain(suffix, items):
    return [join(item, suffix) for item in items]


@pytest.mark.parametrize("transform", [vmap, pmap])
def test_item_function_reading_a_placeholder_from_its_closure(transform):
    with autograph() as graph:
        p = placeholder("p")
        ys = transform(lambda x: join(x, p))(["a", "b"])  # noqa: F841 - read back by name
    for value in ("P", "Q"):
        assert execute(graph, inputs={"p": value})["ys"] == _plain(value, ["a", "b"])
    assert "<lambda>((p,), 'a')" in str(graph)  # one node per item, given p


def test_item_function_needing_the_value_runs_whole_at_execute():
    calls = []

    def item(x, prefix=None):
        calls.append(x)
        reply = join(x, p)
        return reply.upper() if p and reply.endswith(p) else prefix

    with autograph() as graph:
        p = placeholder("p")
        ys = vmap(item)(["a", "b"])  # noqa: F841 - read back by name
    assert calls == []  # nothing ran while recording
    assert execute(graph, inputs={"p": "q"})["ys"] == ["A|Q", "B|Q"]
    assert execute(graph, inputs={"p": ""})["ys"] == [None, None]


def test_item_function_reading_a_placeholder_as_a_default():
    with autograph() as graph:
        p = placeholder("p")
        ys = vmap(lambda x, suffix=p: join(x, suffix))(["a"])  # noqa: F841 - by name
    assert execute(graph, inputs={"p": "D"})["ys"] == _plain("D", ["a"])


def test_partial_holding_a_placeholder():
    with autograph() as graph:
        p = placeholder("p")
        ys = vmap(functools.partial(join, b=p))(["a", "b"])  # noqa: F841 - read back by name
    assert execute(graph, inputs={"p": "P"})["ys"] == _plain("P", ["a", "b"])
    assert execute(graph, inputs={"p": "R"})["ys"] == _plain("R", ["a", "b"])


def test_helper_reached_through_the_item_function_and_a_jitted_caller():
    @jit
    def pipeline(items, suffix):
        def helper(x):
            return join(x, suffix)
        return vmap(lambda x: helper(x))(items)

    with autograph() as graph:
        ys = pipeline(["a", "b", "c"], placeholder("p"))  # noqa: F841 - read back by name
    assert execute(graph, inputs={"p": "S"})["ys"] == _plain("S", ["a", "b", "c"])


def test_mesh_sharded_item_reading_a_placeholder():
    with autograph() as graph:
        p = placeholder("p")
        ys = mesh_sharded(lambda x: join(x, p), DeviceMesh(devices=[0, 1]),  # noqa: F841 - read back by name
                          PartitionSpec(0))(["a", "b", "c"])
    assert execute(graph, inputs={"p": "M"})["ys"] == _plain("M", ["a", "b", "c"])


def test_item_function_without_hidden_values_is_still_one_node_per_item():
    def shout(x):
        return x.upper() if x else "-"

    with autograph() as graph:
        ys = vmap(shout)(["a", ""])  # noqa: F841 - read back by name
    assert execute(graph)["ys"] == ["A", "-"]
    assert "shout('a')" in str(graph)


def test_helper_needing_the_value_is_refused_in_the_block():
    with autograph(), pytest.raises(GraphError, match="needs the value of"):
        p = placeholder("p")

        def helper(x):
            return join(x, p) if p else x

        vmap(lambda x: helper(x))(["a"])


def test_module_level_block_reading_a_global_placeholder():
    namespace = {"join": join, "vmap": vmap, "autograph": autograph,
                 "placeholder": placeholder}
    exec(compile(  # a notebook cell: the block's names are the module's globals
        "with autograph() as graph:\n"
        "    ctx = placeholder('ctx')\n"
        "    ys = vmap(lambda x: join(x, ctx))(['a', 'b'])\n", "<cell>", "exec"), namespace)
    assert execute(namespace["graph"], inputs={"ctx": "G"})["ys"] == _plain("G", ["a", "b"])
    assert namespace["ctx"] is not None  # the module's own global is left as it was


def test_op_reading_a_placeholder_from_its_closure_is_refused_at_its_call():
    with autograph(), pytest.raises(GraphError, match=r"op 'tag' reads the recorded value 'p'"):
        p = placeholder("p")

        @op
        def tag(x):
            return x + p

        tag("a")


@op
def text_of(record):
    return record.text


class Record:
    text = "t"


def test_attribute_named_like_a_global_placeholder_is_not_a_read():
    with autograph() as graph:
        globals()["text"] = placeholder("text")  # a notebook's block at module level
        out = text_of(Record())  # noqa: F841 - read back by name
    del globals()["text"]
    assert execute(graph, inputs={"text": "x"})["out"] == "t"


def test_op_reading_a_global_placeholder_is_refused():
    with autograph(), pytest.raises(GraphError, match=r"op 'read_text' reads .* 'text'"):
        globals()["text"] = placeholder("text")
        try:
            read_text()
        finally:
            del globals()["text"]


@op
def read_text():
    return text  # type: ignore[name-defined]  # noqa: F821 - set by the test above


def test_recorded_batch_and_a_function_reading_a_placeholder():
    from ember.xcs import scan

    with autograph() as graph:
        p = placeholder("p")
        xs = placeholder("xs")
        ys = vmap(lambda x: join(x, p))(xs)  # noqa: F841 - read back by name
        count, steps = scan(lambda c, x: (c + 1, join(x, p)), 0, xs)  # noqa: F841
    for value, items in (("P", ["a", "b"]), ("R", ["c"])):
        out = execute(graph, inputs={"p": value, "xs": items})
        assert out["ys"] == out["steps"] == _plain(value, items)
        assert out["count"] == len(items)


def test_recorded_batch_and_a_helper_reading_a_placeholder_is_refused():
    with autograph(), pytest.raises(GraphError, match=r"reads the recorded value 'p'.*"
                                                      r"in_axes None"):
        p = placeholder("p")

        def helper(x):
            return join(x, p)

        vmap(lambda x: helper(x))(placeholder("xs"))


class _Refusing:
    """A callable whose ``__getattr__`` raises something other than AttributeError."""

    def __getattr__(self, name):
        raise KeyError(name)

    def __call__(self, x):
        return x


def test_objects_refusing_attribute_reads_are_not_searched():
    refusing = _Refusing()

    @op
    def use(x):
        return refusing(x) + "!"

    with autograph() as graph:
        out = use(placeholder("p"))  # noqa: F841 - read back by name
        ys = vmap(lambda x: refusing(x) + "?")(["a"])  # noqa: F841 - read back by name
    assert execute(graph, inputs={"p": "z"}) == {"out": "z!", "ys": ["a?"]}


def test_grad_of_a_function_reading_a_placeholder():
    import jax.numpy as jnp

    from ember.xcs import grad, value_and_grad

    with autograph() as graph:
        t = placeholder("t")
        slope = grad(lambda w: jnp.sum(w ** 2) * t)(jnp.array([1.0, 2.0]))  # noqa: F841
        value, tilt = value_and_grad(lambda w: jnp.sum(w) * t)(jnp.array([1.0, 2.0]))  # noqa: F841
    for scale in (3.0, 5.0):
        out = execute(graph, inputs={"t": scale})
        assert out["slope"].tolist() == [2 * scale, 4 * scale]
        assert float(out["value"]) == 3 * scale and out["tilt"].tolist() == [scale, scale]


def test_module_level_item_function_storing_a_global_keeps_storing_the_modules():
    namespace = {"join": join, "vmap": vmap, "autograph": autograph,
                 "placeholder": placeholder, "seen": 0}
    exec(compile(
        "def item(x):\n"
        "    global seen\n"
        "    seen += 1\n"
        "    return join(x, ctx)\n"
        "with autograph() as graph:\n"
        "    ctx = placeholder('ctx')\n"
        "    ys = vmap(item)(['a', 'b'])\n", "<cell>", "exec"), namespace)
    assert execute(namespace["graph"], inputs={"ctx": "G"})["ys"] == _plain("G", ["a", "b"])
    assert namespace["seen"] == 2  # the item ran in the block, on the module's globals
