"""scan: jax.lax.scan for tensors, a traced Python loop for orchestration."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs import Config, ConfigError, TransformError, explain, get_jit_stats, jit, op, scan


def tensor_step(carry, x, weight, *, bias):
    carry = carry * weight + x + bias
    return carry, carry.sum()


@pytest.mark.parametrize("reverse", [False, True])
def test_tensor_scan_matches_jax_with_extra_arguments(reverse):
    xs = jnp.arange(12.0).reshape(4, 3)
    init = jnp.zeros(3)
    weight = jnp.array([0.5, 1.0, 2.0])

    def reference_step(carry, x):
        return tensor_step(carry, x, weight, bias=1.0)

    expected = jax.lax.scan(reference_step, init, xs, reverse=reverse)
    got = scan(tensor_step, init, xs, reverse=reverse, args=(weight,), kwargs={"bias": 1.0})
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_tensor_scan_with_length_only():
    carry, ys = scan(lambda c, _: (c + 1, c * 2), jnp.zeros(()), length=3)
    assert float(carry) == 3.0
    np.testing.assert_array_equal(ys, jnp.array([0.0, 2.0, 4.0]))


@op
def summarize(text, style):
    time.sleep(0.05)
    return f"{style}:{text}"


def story_step(carry, word, style):
    return carry + [word], summarize(word, style)


@pytest.mark.parametrize("reverse", [False, True])
def test_orchestration_scan_equals_the_plain_loop(reverse):
    words = ["a", "b", "c"]
    carry, ys = scan(story_step, [], words, reverse=reverse, args=("short",))
    plain_carry, plain_ys = [], [None] * 3
    for index in (reversed(range(3)) if reverse else range(3)):
        plain_carry, plain_ys[index] = story_step(plain_carry, words[index], "short")
    assert carry == plain_carry
    assert ys == plain_ys


def test_ops_in_the_loop_that_do_not_need_the_carry_run_concurrently():
    started = time.perf_counter()
    _, ys = scan(story_step, [], ["w"] * 6, args=("s",))
    assert time.perf_counter() - started < 0.2  # six 50 ms ops, independent of the carry
    assert ys == ["s:w"] * 6


def test_per_step_dicts_are_collected_as_in_vmap():
    def step(total, item):
        return total + item["n"], {"name": item["name"].upper(), "total": total + item["n"]}

    carry, ys = scan(step, 0, {"name": ["a", "b"], "n": [1, 2]})
    assert carry == 3
    assert ys == {"name": ["A", "B"], "total": [1, 3]}


def test_tensor_scan_reaching_an_op_runs_as_a_loop():
    @op
    def label(value):
        return f"v{float(value):.0f}"

    def step(carry, x):
        return carry + x, label(carry + x)

    carry, ys = scan(step, jnp.zeros(()), jnp.arange(3.0))
    assert float(carry) == 3.0
    assert ys == ["v0", "v1", "v3"]


def test_inside_jit_the_loop_joins_the_trace():
    @jit
    def pipeline(words):
        _, ys = scan(story_step, [], words, args=("t",))
        return ys

    assert pipeline(["x", "y"]) == ["t:x", "t:y"]
    assert get_jit_stats(pipeline)["ops"] == 2


@op
def carried_step(carry: int, x: int) -> tuple[int, int]:
    return carry + x, carry


def test_inside_jit_a_step_op_waited_for_is_a_barrier_and_the_carry_an_edge():
    """Each step waits for the previous carry: stats say so (one op per group, one
    barrier per step at the user's scan line), and the IR keeps the carry edge."""

    @jit
    def pipeline(xs):
        return scan(carried_step, 0, xs)  # the scan line

    assert pipeline([1, 2, 3]) == scan(carried_step, 0, [1, 2, 3]) == (6, [0, 1, 3])
    stats = get_jit_stats(pipeline)
    assert (stats["max_parallelism"], stats["parallel_groups"]) == (1, 3)
    line = pipeline.__wrapped__.__code__.co_firstlineno + 2
    assert stats["barriers"] == [f"scan step result at {__file__}:{line}"] * 3
    report = str(explain(pipeline))
    assert "= carried_step(0, 1)" in report and "carried_step(1, 2)" not in report, report


def test_step_must_return_a_pair():
    with pytest.raises(TransformError, match=r"\(carry, y\) pair"):
        scan(lambda c, x: c, 0, [1, 2])
    with pytest.raises(TransformError, match="length"):
        scan(lambda c, x: (c, x), 0)


def test_a_tuple_xs_is_looped_over_leaf_by_leaf():
    seen = []

    def step(carry, x):
        seen.append(x)
        return carry + 1, x

    carry, ys = scan(step, 0, (["p", "q", "r"], [1, 2, 3]))
    assert carry == 3
    assert seen == [("p", 1), ("q", 2), ("r", 3)]
    assert ys == (["p", "q", "r"], [1, 2, 3])


def test_a_tuple_of_an_array_and_a_list_and_nested_dicts_are_looped_leaf_by_leaf():
    carry, ys = scan(lambda c, x: (c + x[0], x[1]), 0, (np.arange(3), ["a", "b", "c"]))
    assert carry == 3 and ys == ["a", "b", "c"]
    carry, ys = scan(lambda c, x: (c + x["a"]["b"], x["a"]["b"]), "", {"a": {"b": ["p", "q"]}})
    assert carry == "pq" and ys == ["p", "q"]


def test_errors_name_scans_own_parameters():
    with pytest.raises(TransformError, match=r"length=3 but xs has length 2") as info:
        scan(lambda c, x: (c, x), 0, ["a", "b"], length=3)
    assert "axis_size" not in str(info.value)
    with pytest.raises(TransformError, match=r"xs\[0\] has 1, xs\[1\] has 2") as info:
        scan(lambda c, x: (c, x), 0, (["a"], [1, 2]))
    assert "in_axes" not in str(info.value)
    with pytest.raises(TransformError, match=r"length=\.\.\.") as info:
        scan(lambda c, x: (c, x), 0, {"a": "text"})
    assert "axis_size" not in str(info.value) and "in_axes" not in str(info.value)


def test_scan_records_inside_autograph():
    from ember.xcs import autograph, execute, placeholder

    @op
    def shout(text):
        return text.upper()

    @op
    def words(text):
        return text.split()

    with autograph() as graph:
        carry, ys = scan(lambda c, x: (c + x, shout(x)), "", ["a", "b"])
        total, loud = scan(lambda c, x: (c + x, shout(x)), "", words(placeholder("q")))
    values = execute(graph, inputs={"q": "x y"})
    assert carry == "ab" and values["ys"] == ["A", "B"]  # the carry needed no op: real
    assert (values["total"], values["loud"]) == ("xy", ["X", "Y"])


def test_a_step_returning_a_recorded_value_is_told_to_return_a_pair():
    from ember.xcs import autograph, execute

    @op
    def shout(text):
        return text.upper()

    with pytest.raises(TransformError, match=r"return carry, y"):
        scan(lambda c, x: shout(x), 0, ["ab", "cd"])
    with autograph() as graph:  # whether it is a pair is known at execute: checked there
        scan(lambda c, x: shout(x), 0, ["ab", "cd"])
    with pytest.raises(TransformError, match=r"got str; end it with `return carry, y`"):
        execute(graph)


@op
def extend(story: str, sentence: str) -> tuple[str, str]:
    return story + " " + sentence, sentence[:4]


@pytest.mark.parametrize("step", [extend, lambda c, x: extend(c, x)], ids=["op", "lambda"])
def test_an_op_returning_the_pair_records_inside_autograph(step):
    from ember.xcs import autograph, execute

    xs = ["It rained.", "Then sun."]
    with autograph() as graph:
        story, summaries = scan(step, "", xs)
    assert "scan_pair(" in str(graph)
    values = execute(graph)
    assert (values["story"], values["summaries"]) == scan(step, "", xs)


@op
def pair_step(carry: int, text: str) -> tuple[int, int]:
    time.sleep(0.005)
    return carry + len(text), len(text)


@op
def single_score(text: str) -> float:
    return float(len(text))


def test_a_step_returning_an_op_result_is_judged_by_its_value() -> None:
    """An op that returns the (carry, y) pair is a valid step, as in a plain loop; one
    that returns a single value is refused naming the value's type, not XCS's proxy."""

    def by_op(carry, text):
        return pair_step(carry, text)

    assert scan(by_op, 0, ["a", "bb"]) == (3, [1, 2])
    assert jit(lambda words: scan(by_op, 0, words))(["a", "bb"]) == (3, [1, 2])
    with pytest.raises(TransformError, match=r"pair, got float;"):
        scan(lambda carry, text: carry + single_score(text), 0.0, ["a", "bb"])


def _plain_scan(step, init, xs, *args):
    carry, ys = init, []
    for x in xs:
        carry, y = step(carry, x, *args)
        ys.append(y)
    return carry, ys


def test_a_list_xs_is_the_steps_whatever_the_other_arguments_are():
    """A list of arrays (or of NumPy numbers) is looped over item by item, as the plain
    loop does, whether the extra argument is a string or a number."""

    def total(count, batch, tag):
        return count + 1, batch.sum()

    batches = [np.ones(3), np.zeros(3)]
    for tag in ("t", 1.0):
        carry, ys = scan(total, 0, batches, args=(tag,))
        plain_carry, plain_ys = _plain_scan(total, 0, batches, tag)
        assert carry == plain_carry == 2
        assert [float(y) for y in ys] == [float(y) for y in plain_ys] == [3.0, 0.0]
    numbers = list(np.arange(3.0))
    carry, ys = scan(lambda c, x: (c + x, x * 2), 0.0, numbers)
    assert float(carry) == 3.0 and [float(y) for y in ys] == [0.0, 2.0, 4.0]
    carry, ys = scan(lambda c, x: (c + x[1].sum(), x[0]), 0.0, (np.arange(2.0), batches))
    assert float(carry) == 3.0 and [float(y) for y in ys] == [0.0, 1.0]


def _clip_step(total, x):
    if x > 1:  # Python control flow on the value: JAX cannot trace it
        return total + x, x
    return total, -x


def _numpy_step(carry, x):
    carry = np.tanh(carry + x)  # NumPy on the value: JAX cannot trace it either
    return carry, carry


@pytest.mark.parametrize("step", [_clip_step, _numpy_step])
def test_a_step_jax_cannot_trace_runs_as_the_plain_loop_as_jit_falls_back(step):
    xs = np.arange(4.0)
    plain_carry, plain_ys = _plain_scan(step, 0.0, xs)
    for _ in range(2):  # the first call falls back, later ones loop from the start
        carry, ys = scan(step, 0.0, xs)
        assert carry == plain_carry
        assert list(ys) == plain_ys


def test_tensor_scan_errors_name_the_users_step_and_its_parameters():
    def widen(total, x):
        return total.astype(jnp.int32), x

    with pytest.raises(TypeError, match=r"input carry total has type float32") as info:
        scan(widen, jnp.zeros(()), jnp.arange(3.0))
    assert "carry[0]" not in str(info.value)


def _joining_step(carry, x, sep):
    return carry + x + sep, None


@pytest.mark.parametrize(("extras", "message"), [
    ({"args": {"sep": "-"}}, r"args=\.\.\.\) must be a tuple or list .* got dict "
                             r"\{'sep': '-'\}; pass keyword arguments as kwargs="),
    ({"args": "--"}, r"got str '--'; for one extra argument write args=\('--',\)"),
    ({"args": 5}, r"got int 5; for one extra argument write args=\(5,\)"),
    ({"kwargs": ["sep"]}, r"kwargs=\.\.\.\) must be a dict .* got list \['sep'\]; "
                          r"pass positional extras as args="),
    ({"kwargs": {1: "-"}}, r"got a mapping with non-str keys \{1: '-'\}"),
])
def test_extra_arguments_must_be_a_tuple_and_a_mapping(extras, message):
    """A dict as args= would pass its keys, a str its characters: refused, naming both."""
    with pytest.raises(TransformError, match=message):
        scan(_joining_step, "", ["1", "2"], **extras)
    assert scan(_joining_step, "", ["1", "2"], args=["-"]) == ("1-2-", [None, None])
    assert scan(_joining_step, "", ["1"], kwargs={"sep": "-"}) == ("1-", [None])


def test_the_decorator_form_refuses_extra_arguments_it_would_drop():
    with pytest.raises(TransformError, match=r"pass the extra arguments when calling it"):
        scan(args=("-",))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: scan(_joining_step, "", ["1"], max_workers=2),
     r"scan\(\): max_workers=2 is a setting: pass config=Config\(max_workers=2\)"),
    (lambda: scan(_joining_step, "", ["1"], Config()),
     r"scan\(\) takes its Config as a keyword argument"),
    (lambda: scan(_joining_step, "", ["1"], None, False, "-"),
     r"1 extra positional argument\(s\) \('-'\)"),
])
def test_a_setting_given_to_scan_directly_says_where_it_goes(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_orchestration_scan_takes_per_step_dicts_with_keys_in_any_order():
    @op
    def classify(text):
        return "question" if text.endswith("?") else "statement"

    def step(count, text):
        out = {}
        if text.endswith("?"):
            out["label"] = classify(text)
            out["length"] = len(text)
        else:
            out["length"] = len(text)
            out["label"] = classify(text)
        return count + 1, out

    count, outputs = scan(step, 0, ["Why?", "Because."])
    assert count == 2
    assert outputs == {"label": ["question", "statement"], "length": [4, 8]}
