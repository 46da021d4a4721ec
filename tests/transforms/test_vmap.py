"""vmap: jax.vmap for arrays, concurrent engine items for orchestration."""

from __future__ import annotations

import concurrent.futures
import inspect
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import Config, ConfigError, TransformError, get_jit_stats, jit, op, pmap, vmap


def transform(text):
    return text.upper()


def process_item(item):
    return {"processed": transform(item["data"]), "id": item["id"]}


def slow_square(x):
    time.sleep(0.05)
    return x * x


def fail_on_odd(x):
    if x % 2:
        raise KeyError(f"odd {x}")
    return x


def test_seed_dict_form_verbatim():
    # Vectorizing for batch processing
    batch_fn = vmap(process_item)
    batch_results = batch_fn(inputs={
        "data": ["item1", "item2", "item3"],
        "id": [1, 2, 3],
        "options": {"format": "json"}  # Non-batched param applied to all items
    })
    assert batch_results == {"processed": ["ITEM1", "ITEM2", "ITEM3"], "id": [1, 2, 3]}


def test_dict_form_mismatched_lengths_raise_transform_error_naming_fields():
    with pytest.raises(TransformError, match=r"inputs\['data'\] has 2, inputs\['id'\] has 3"):
        vmap(process_item)(inputs={"data": ["a", "b"], "id": [1, 2, 3]})


@pytest.mark.parametrize(
    ("in_axes", "args"),
    [
        (0, (jnp.arange(6.0).reshape(3, 2),)),
        (1, (jnp.arange(6.0).reshape(2, 3),)),
        ((0, None), (jnp.arange(6.0).reshape(3, 2), jnp.ones(2))),
        ((None, 1), (jnp.ones(2), jnp.arange(6.0).reshape(2, 3))),
        (({"w": 0, "b": None},), ({"w": jnp.arange(6.0).reshape(3, 2), "b": jnp.ones(2)},)),
    ],
)
def test_tensor_in_axes_forms_match_jax(in_axes, args):
    def f(*xs):
        leaves = jax.tree_util.tree_leaves(xs)
        return sum(jnp.sum(leaf * (i + 1)) for i, leaf in enumerate(leaves))

    expected = jax.vmap(f, in_axes=in_axes)(*args)
    np.testing.assert_allclose(vmap(f, in_axes=in_axes)(*args), expected, rtol=1e-6)


def test_tensor_out_axes_and_axis_size_match_jax():
    x = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(vmap(lambda r: jnp.outer(r, r), out_axes=1)(x),
                                  jax.vmap(lambda r: jnp.outer(r, r), out_axes=1)(x))
    ones = vmap(lambda c: c * 2, in_axes=None, axis_size=4)(jnp.ones(2))
    np.testing.assert_array_equal(ones, jax.vmap(lambda c: c * 2, in_axes=None,
                                                 axis_size=4)(jnp.ones(2)))
    pytree = vmap(lambda r: {"sum": r.sum(), "max": r.max()})(x)
    assert set(pytree) == {"sum", "max"}
    np.testing.assert_array_equal(pytree["sum"], x.sum(axis=1))


def test_32_orchestration_items_run_concurrently_and_equal_a_plain_loop():
    items = list(range(32))
    batched = vmap(slow_square, config=Config(max_workers=32))
    batched(items[:2])  # warm the worker pool
    started = time.perf_counter()
    result = batched(items)
    elapsed = time.perf_counter() - started
    assert result == [slow_square(x) for x in items]
    assert elapsed < 0.150, f"32 x 50 ms items took {elapsed * 1000:.0f} ms"


def test_max_workers_caps_concurrency():
    active = []
    peak = []
    lock = threading.Lock()

    def tracked(x):
        with lock:
            active.append(x)
            peak.append(len(active))
        time.sleep(0.01)
        with lock:
            active.remove(x)
        return x

    assert vmap(tracked, config=Config(max_workers=3))(list(range(12))) == list(range(12))
    assert max(peak) <= 3


def test_exceptions_equal_the_plain_loop():
    with pytest.raises(KeyError) as plain:
        [fail_on_odd(x) for x in [2, 4, 5, 7]]
    with pytest.raises(KeyError) as batched:
        vmap(fail_on_odd)([2, 4, 5, 7])
    assert batched.value.args == plain.value.args


@pytest.mark.parametrize("executor", ["thread", "sync", "process"])
def test_executors_give_plain_loop_results(executor):
    config = Config(executor=executor, max_workers=4)
    assert vmap(transform, config=config)(["a", "b", "c"]) == ["A", "B", "C"]
    assert vmap(process_item, config=config)(inputs={"data": ["x"], "id": [7]}) == {
        "processed": ["X"], "id": [7]}


def test_any_concurrent_futures_executor():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        assert vmap(slow_square, config=Config(executor=pool))([1, 2, 3]) == [1, 4, 9]


def test_orchestration_output_structure_does_not_depend_on_leaf_types():
    def pair(text):
        return {"text": text, "vector": np.full(2, len(text))}

    result = vmap(pair)(["a", "bb"])
    assert list(result) == ["text", "vector"]
    assert result["text"] == ["a", "bb"]
    assert isinstance(result["vector"], np.ndarray)  # arrays stack, as in JAX
    assert result["vector"].tolist() == [[1, 1], [2, 2]]


def test_dict_results_are_transposed_and_mixed_keys_say_how_to_get_per_item_results():
    """pyember v2 code expecting a list of dicts: the result stays transposed (our
    contract), and items with different keys get an error naming the per-item form."""

    def safe_process(doc):
        return {"id": doc, "error": "empty"} if not doc else {"id": doc, "summary": doc.upper()}

    assert vmap(safe_process)(["a", "c"]) == {"id": ["a", "c"], "summary": ["A", "C"]}
    with pytest.raises(TransformError) as caught:
        vmap(safe_process)(["a", "", "c"])
    message = str(caught.value)
    assert "item 1 is a dict with keys ['id', 'error']" in message
    assert "one dict or tuple of lists" in message and "list comprehension under @jit" in message
    per_item = jit(lambda items: [safe_process(item) for item in items])
    assert per_item(["a", "", "c"]) == [safe_process(d) for d in ["a", "", "c"]]


def test_inside_jit_items_join_the_outer_trace():
    @op
    def shout(text):
        time.sleep(0.05)
        return text.upper()

    @jit
    def pipeline(words):
        loud = vmap(shout)(words)
        return {"loud": loud, "first": shout(words[0])}

    started = time.perf_counter()
    assert pipeline(["a", "b", "c", "d"]) == {"loud": ["A", "B", "C", "D"], "first": "A"}
    assert time.perf_counter() - started < 0.2  # 5 ops of 50 ms, all concurrent
    assert get_jit_stats(pipeline)["ops"] == 5


def test_tensor_vmap_reaching_an_op_switches_to_orchestration():
    seen = []

    @op
    def record(value):
        seen.append(float(value))
        return float(value) * 10

    batched = vmap(lambda row: record(row.sum()))
    result = batched(np.arange(6.0).reshape(3, 2))
    assert result == [10.0, 50.0, 90.0]
    assert sorted(seen) == [1.0, 5.0, 9.0]  # each item exactly once
    stats = get_jit_stats(batched)
    assert stats["mode"] == "orchestration"
    assert any("op record" in f for f in stats["fallbacks"])


def test_jitted_item_functions_run_their_own_nested_trace():
    @op
    def exclaim(text):
        return text + "!"

    @jit
    def twice(text):
        return exclaim(text) + exclaim(text)

    assert vmap(twice, config=Config(max_workers=1))(["a", "b"]) == ["a!a!", "b!b!"]


def test_bad_arguments():
    with pytest.raises(ConfigError):
        vmap(transform, config={"max_workers": 2})
    with pytest.raises(TransformError, match="callable"):
        vmap(42)
    with pytest.raises(TransformError, match=r"out_axes \(0, 1\) does not fit result"):
        vmap(transform, out_axes=(0, 1))(["a"])


def test_tensor_vmap_errors_name_the_users_parameters():
    def add(a, b):
        return a + b

    with pytest.raises(ValueError, match="argument a .*\n.*argument b ") as info:
        vmap(add)(jnp.ones(3), jnp.ones(4))
    assert "argument args" not in str(info.value)
    assert "argument kwargs" not in str(info.value)


def test_tensor_mode_calls_are_counted_as_for_jit():
    doubled = vmap(lambda x: x * 2)
    doubled(jnp.ones(3))
    doubled(jnp.ones(3))
    stats = get_jit_stats(doubled)
    assert stats["mode"] == "tensor"
    assert stats["calls"] == 2 and stats["errors"] == 0
    with pytest.raises(ValueError):
        vmap(lambda a, b: a + b)(jnp.ones(3), jnp.ones(4))
    failing = vmap(lambda a, b: a + b)
    with pytest.raises(ValueError):
        failing(jnp.ones(3), jnp.ones(4))
    assert get_jit_stats(failing)["calls"] == 1 and get_jit_stats(failing)["errors"] == 1


def test_numpy_string_and_object_arrays_are_batches_mapped_along_axis_0():
    assert vmap(lambda s: s.upper())(np.array(["a", "b"])) == ["A", "B"]
    assert vmap(lambda row: row[0] + row[1])(np.array([["a", "b"], ["c", "d"]])) == ["ab", "cd"]
    things = np.array([{"k": 1}, None, "x"], dtype=object)
    assert vmap(repr)(things) == ["{'k': 1}", "None", "'x'"]
    assert vmap(lambda item: item["t"] + "!")(inputs={"t": np.array(["x", "y"]), "n": 1}) \
        == ["x!", "y!"]
    with pytest.raises(TransformError, match="same length"):
        vmap(lambda a, b: a + b)(np.array(["a", "b"]), ["c"])


def test_a_dict_result_keeps_its_keys_with_lists_and_stacked_arrays_as_the_docs_say():
    result = vmap(lambda s: {"text": s.upper(), "vec": np.ones(2) * len(s)})(["a", "bb"])
    assert list(result) == ["text", "vec"]
    assert result["text"] == ["A", "BB"]
    assert isinstance(result["vec"], np.ndarray)
    assert result["vec"].tolist() == [[1.0, 1.0], [2.0, 2.0]]
    ragged = vmap(lambda s: {"vec": np.ones(len(s))})(["a", "bb"])
    assert type(ragged["vec"]) is list and [v.shape for v in ragged["vec"]] == [(1,), (2,)]


def test_vmap_records_inside_autograph():
    from ember.xcs import autograph, execute, placeholder

    @op
    def shout(text):
        return text.upper()

    @op
    def words(text):
        return text.split()

    with autograph() as graph:
        listed = vmap(shout)(["a", "b"])  # noqa: F841 - a real batch: a node per item
        recorded = vmap(shout)(words(placeholder("q")))  # noqa: F841 - recorded: one node
    values = execute(graph, inputs={"q": "x y z"})
    assert values["listed"] == ["A", "B"]
    assert values["recorded"] == ["X", "Y", "Z"]
    assert sum(node.name == "shout" for node in graph.graph.nodes) == 2


@op
def length_score(text: str) -> float:
    time.sleep(0.005)
    return float(len(text))


SEEN_ITEMS: list[str] = []


def _item_with_untraceable_glue(x):
    SEEN_ITEMS.append(type(x).__name__)
    if x > 1:  # JAX could not trace this: the op in the code decides first
        return length_score("long") + x
    return length_score("x" * int(x))


def test_transforms_of_an_op_calling_function_over_arrays_are_orchestration_from_the_start():
    """vmap/pmap/scan over a NumPy array of a function whose code calls an op: a plain
    loop's results, its glue run once per item with real items (never a JAX tracer),
    and the same errors on the first call as on later ones."""
    from ember.xcs import pmap, scan

    xs = np.arange(3.0)
    plain = [_item_with_untraceable_glue(x) for x in xs]
    SEEN_ITEMS.clear()

    def step(carry, x):
        y = _item_with_untraceable_glue(x)
        return carry + y, y

    for name, call in [("vmap", lambda: vmap(_item_with_untraceable_glue)(xs)),
                       ("pmap", lambda: pmap(_item_with_untraceable_glue)(xs)),
                       ("scan", lambda: scan(step, 0.0, xs)[1])]:
        SEEN_ITEMS.clear()
        assert [float(v) for v in call()] == plain, name
        assert SEEN_ITEMS == ["float64"] * 3, name

    def pair(a, b):
        return length_score("x" * int(a + b))

    fresh = vmap(pair)
    with pytest.raises(TransformError, match="mapped inputs must all have the same length"):
        fresh(np.arange(2.0), np.arange(3.0))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: vmap(str.upper, max_workers=4),
     r"vmap\(\): max_workers=4 is a setting: pass config=Config\(max_workers=4\)"),
    (lambda: vmap(str.upper, Config()), r"vmap\(\) takes its Config as a keyword argument"),
    (lambda: vmap(str.upper, 0, 0, Config()), r"takes its Config as a keyword argument"),
    (lambda: vmap(str.upper, 0, 0, None, 3), r"1 extra positional argument\(s\) \(3\)"),
    (lambda: vmap(in_axis=0), r"'in_axis' is not one of its parameters \(did you mean "
                              r"'in_axes'\?\)"),
])
def test_a_setting_given_to_vmap_directly_says_where_it_goes(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_vmap_signature_shows_only_its_own_parameters():
    assert list(inspect.signature(vmap).parameters) == [
        "fn", "in_axes", "out_axes", "axis_size", "axis_name", "config"]
    assert vmap(str.upper, (0,), 0, None, config=Config())(["a"]) == ["A"]


def test_numpy_and_jax_scalar_keywords_are_given_to_every_item_like_floats():
    def generate(prompt, temp):
        return f"{prompt}@{temp:.2f}"

    prompts = ["a", "b"]
    for temp in (0.7, np.mean([0.5, 0.9]), jnp.float32(0.7)):
        assert vmap(generate)(prompts, temp=temp) == [generate(p, temp) for p in prompts]
        assert vmap(lambda d: generate(d["p"], d["temp"]))({"p": prompts, "temp": temp}) == [
            "a@0.70", "b@0.70"]
    # On the tensor path jax.vmap would fail on a scalar keyword: refused, with the fix.
    with pytest.raises(TransformError, match=r"functools.partial\(f, temp=...\)"):
        vmap(lambda x, temp: x * temp)(jnp.ones(2), temp=np.float64(0.5))


def test_a_keyword_argument_named_self_is_mapped_like_any_other() -> None:
    class Agent:
        def __init__(self, name: str) -> None:
            self.name = name

    def greet(self: Agent) -> str:
        return f"hi, {self.name}"

    assert vmap(greet)(self=[Agent("a"), Agent("b")]) == ["hi, a", "hi, b"]


@pytest.mark.parametrize("transform", [vmap, pmap])
def test_an_in_axes_tuple_shorter_or_longer_than_the_arguments_is_refused_as_by_jax(transform):
    def add(a, b):
        return a + b

    x, y = jnp.arange(4.0), jnp.arange(4.0) * 10
    name = transform.__name__
    for axes, args in (((0,), (x, y)), ((0,), ([1, 2], [3, 4])), ((0, 0, 0), (x, y)),
                       ((0, 0, 0), ([1, 2], [3, 4]))):
        with pytest.raises(TransformError, match=(
                rf"^{name}: in_axes needs one entry per positional argument, but got "
                rf"len\(in_axes\)={len(axes)}, len\(args\)=2; ")):
            transform(add, in_axes=axes)(*args)
    assert transform(add, in_axes=(0, None))([1, 2], 10) == [11, 12]
    assert transform(add, in_axes=(0, 0))(x, y).tolist() == [0.0, 11.0, 22.0, 33.0]
