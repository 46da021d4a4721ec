"""Learned barriers: the last resort, for code whose source cannot be rewritten."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from ember.xcs import Config, TracingError, explain, get_jit_stats, jit, op
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.learned import LearnedBarriers

calls: list[str] = []


@op
def word(x: int) -> str:
    calls.append(f"word{x}")
    time.sleep(0.05)
    return f"w{x}"


class Holder:
    value: object = None


class Agent:
    """An object the glue makes, with an op method."""

    def __init__(self, name: str) -> None:
        self.name = name

    @op
    def ask(self, x: int) -> str:
        calls.append(f"{self.name}.ask{x}")
        time.sleep(0.01)
        return json.dumps({"x": x})


@op
def word_of(holder: Holder) -> str:
    return json.dumps(word(holder.value))


def without_source(text: str, name: str) -> object:
    """A function compiled from a string: no file, so the tracer cannot rewrite it."""
    namespace = {"word": word, "json": json, "re": re, "Holder": Holder, "Agent": Agent,
                 "word_of": word_of}
    exec(compile(text, "<generated>", "exec"), namespace)
    return namespace[name]


def test_learned_barriers_are_bounded_and_unique() -> None:
    learned = LearnedBarriers(limit=2)
    code = test_learned_barriers_are_bounded_and_unique.__code__
    where = SourceLocation("f.py", 1, "f")
    assert learned.add(code, 1, 1, where, "TypeError")
    assert not learned.add(code, 1, 1, where, "TypeError")
    assert learned.add(code, 2, 3, where, "TypeError")
    assert not learned.add(code, 5, 5, where, "TypeError")
    assert learned.covers(code, 3) and not learned.covers(code, 4)
    learned.clear()
    assert not learned


def test_c_consumers_in_rewritten_code_need_no_learning() -> None:
    @jit
    def f(items: list[int]) -> dict[str, object]:
        results = [word(i) for i in items]
        text = ", ".join(results)
        encoded = json.dumps({"first": word(100)})
        match = re.match(r"w(\d)", word(items[0]))
        return {"text": text, "json": encoded, "digit": match.group(1) if match else None}

    expected = {"text": "w1, w2, w3", "json": '{"first": "w100"}', "digit": "1"}
    for _ in range(3):
        calls.clear()
        started = time.perf_counter()
        assert f([1, 2, 3]) == expected
        assert sorted(calls) == sorted(["word1", "word2", "word3", "word100", "word1"])
        assert time.perf_counter() - started < 0.2, "all five ops overlap from the first call"
    stats = get_jit_stats(f)
    assert stats["learned_barriers"] == [] and stats["reruns"] == 0


def test_a_lazy_value_held_by_an_object_reaches_c_code_resolved() -> None:
    @jit
    def f(x: int) -> str:
        holder = Holder()
        holder.value = word(x)
        return json.dumps({"v": holder.value})

    calls.clear()
    assert f(4) == '{"v": "w4"}'
    assert calls == ["word4"]
    assert get_jit_stats(f)["fallbacks"] == []


def test_rejections_in_code_without_source_are_learned_and_never_run_twice() -> None:
    f = jit(without_source(
        "def f(items):\n"
        "    results = [word(i) for i in items]\n"
        "    text = ', '.join(results)\n"
        "    encoded = json.dumps({'first': word(100)})\n"
        "    return {'text': text, 'json': encoded}\n",
        "f",
    ))
    expected = {"text": "w1, w2, w3", "json": '{"first": "w100"}'}
    for call in range(3):
        calls.clear()
        assert f([1, 2, 3]) == expected
        assert sorted(calls) == sorted(["word1", "word2", "word3", "word100"]), "ops run once"
    stats = get_jit_stats(f)
    assert len(stats["learned_barriers"]) == 2
    assert stats["reruns"] == 2  # both learned on the first call
    assert "learned barriers (2):" in explain(f)
    assert any("without rewriting" in item for item in stats["fallbacks"])


def test_ops_given_or_bound_to_objects_the_rerun_makes_again_run_once() -> None:
    f = jit(without_source(
        "def f(x):\n"
        "    agent = Agent('a')\n"
        "    asked = json.loads(agent.ask(x))\n"
        "    holder = Holder()\n"
        "    holder.value = x\n"
        "    return asked['x'], json.loads(word_of(holder))\n",
        "f",
    ))
    for call in range(2):
        calls.clear()
        assert f(3) == (3, "w3")
        assert calls == ["a.ask3", "word3"], "each op ran once, on the first call too"
    assert get_jit_stats(f)["reruns"] >= 1


def test_genuine_type_errors_are_raised_unchanged() -> None:
    @jit
    def f(x: int) -> str:
        text = word(x)
        return text + 1  # type: ignore[operator]

    with pytest.raises(TypeError, match=r'can only concatenate str \(not "int"\) to str'):
        f(1)


def _helper(a: str, b: str) -> str:
    return a + b


class _Agent:
    def step(self, text: str) -> str:
        return text


def _raises_like_plain_python_with_the_glue_run_once(
        f: Any, log: list[str]) -> dict[str, Any]:
    """Call ``f`` plainly and jitted (first and later calls): the same TypeError, and the
    glue (which appends to ``log``) ran once per call. Returns the jitted stats."""
    fast = jit(f)
    for x in (1, 2):
        log.clear()
        with pytest.raises(TypeError) as plain:
            f(x)
        log.clear()
        with pytest.raises(TypeError) as jitted:
            fast(x)
        assert str(jitted.value) == str(plain.value) and log == ["glue"]
    return get_jit_stats(fast)


@pytest.mark.parametrize("mistake", ["missing", "extra", "keyword", "method"])
def test_calling_a_function_with_wrong_arguments_never_reruns_the_glue(mistake: str) -> None:
    """The user's own bug on a line that uses an op result: binding the arguments never
    looked at the lazy value, so the glue runs once and nothing is learned."""
    log: list[str] = []

    def f(x: int) -> str:
        text = word(x)
        log.append("glue")
        if mistake == "missing":
            return _helper(text)  # type: ignore[call-arg]
        if mistake == "extra":
            return _helper(text, "a", "b")  # type: ignore[call-arg]
        if mistake == "keyword":
            return _helper(text, c="b")  # type: ignore[call-arg]
        return _Agent().step(text, text)  # type: ignore[call-arg]

    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["learned_barriers"] and not stats["fallbacks"]


@pytest.mark.parametrize("mistake", ["add", "compare", "negate", "augmented", "len", "int",
                                     "inside print", "inside append", "sort op results"])
def test_an_operator_or_c_call_failing_on_plain_values_never_reruns_the_glue(
        mistake: str) -> None:
    """`None + 1` after an op: the operator raised on concrete operands (a lazy one would
    have answered through its own method); `len(5)`: the one call of its expression, on
    variables holding no lazy value; `print("best", max(scores))`: the calls around it
    run after it, so none made its arguments; `pairs.sort()` over op results in tuples
    failing on `0 < (...)`: the types it names are the values'. Either way the glue before
    it runs once."""
    log: list[str] = []

    def f(x: int) -> str:
        text = word(x)
        log.append("glue")
        missing = None
        if mistake == "add":
            return missing + 1  # type: ignore[operator]
        if mistake == "compare":
            return "a" < 1  # type: ignore[operator,return-value]
        if mistake == "negate":
            return -missing  # type: ignore[operator]
        if mistake == "len":
            size = len(5)  # type: ignore[arg-type]
            return str(size)
        if mistake == "int":
            return int(missing)  # type: ignore[arg-type]
        scores = [3, None]
        if mistake == "inside print":
            print("best", max(scores))  # type: ignore[type-var]
        if mistake == "inside append":
            log.append(str(sorted(scores)))  # type: ignore[type-var]
        if mistake == "sort op results":
            pairs = [(text, 1), 0]
            pairs.sort()  # type: ignore[call-overload]
        count = 0
        count += "s"  # type: ignore[assignment,operator]
        return text

    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["fallbacks"]


@pytest.mark.parametrize("mistake", ["dict comprehension", "dict display", "set call",
                                     "set comprehension", "in a dict"])
def test_hashing_a_plain_value_that_cannot_be_hashed_never_reruns_the_glue(
        mistake: str) -> None:
    """`{k: word(k) for k in keys}` with a list among the keys, `set([keys, text])`,
    `text in {keys: 1}`: "unhashable type: 'list'" names the value's type (a lazy value
    is hashed through its own method), so the glue before it runs once."""
    log: list[str] = []

    def f(x: int) -> Any:
        keys: list[Any] = [x, [x]]
        text = word(x)
        log.append("glue")
        if mistake == "dict comprehension":
            return {k: word(x) for k in keys}
        if mistake == "dict display":
            return {text: 1, keys: 2}
        if mistake == "set call":
            return set([keys, text])
        if mistake == "set comprehension":
            return {(k, text) for k in [keys]}
        return text in {keys: 1}

    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["fallbacks"]


@pytest.mark.parametrize("mistake", ["next of a list", "len of a generator",
                                     "zip with a number", "attribute name", "range"])
def test_c_code_refusing_a_plain_value_it_names_never_reruns_the_glue(mistake: str) -> None:
    """`next(replies)` on a list of op results, `len(c for c in text)`, `zip(replies, 5)`,
    `getattr(text, 5)`, `range(text)`: the error names the type of a value (a lazy value would have
    been asked through its own methods, or named `Lazy`), so the glue runs once."""
    log: list[str] = []

    def f(x: int) -> Any:
        replies = [word(x), word(x + 1)]
        text = word(x)
        log.append("glue")
        if mistake == "next of a list":
            return next(replies)  # type: ignore[call-overload]
        if mistake == "len of a generator":
            return len(c for c in text)  # type: ignore[arg-type]
        if mistake == "zip with a number":
            return list(zip(replies, 5))  # type: ignore[call-overload]
        if mistake == "range":
            return list(range(text))  # type: ignore[call-overload]
        return getattr(text, 5)  # type: ignore[call-overload]

    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["fallbacks"]


@pytest.mark.parametrize("classes", ["str", ("str",), [str], (int, "str")])
def test_isinstance_of_an_op_result_with_no_class_raises_without_rerunning_the_glue(
        classes: Any) -> None:
    """`isinstance(r, "str")`: Python refuses the second argument whatever `r` is, so
    the TypeError is the program's own: raised at once, the glue and its ops run once."""
    log: list[str] = []

    def f(x: int) -> Any:
        log.append("glue")
        text = word(x)
        other = word(x + 1)
        if isinstance(text, classes):
            return other
        return text

    calls.clear()
    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["fallbacks"]
    assert len(calls) == 8  # two ops per call, plain and jitted, for x = 1 and 2


@op
def nothing(x: int) -> Any:
    time.sleep(0.01)
    return x if x > 5 else None


@pytest.mark.parametrize("mistake", ["star in a list", "star in a set", "star in a tuple",
                                     "double star", "with", "for"])
def test_an_op_result_taken_whole_by_python_failing_as_in_plain_python_never_reruns_the_glue(
        mistake: str) -> None:
    """`[*r]`, `{**r}`, `with r:`, `for c in r:` with `r` an op result that is `None`:
    the rewritten glue makes `r` real first, so Python's error names `NoneType`, and
    the glue before it runs once."""
    log: list[str] = []

    def f(x: int) -> Any:
        value = nothing(x)
        log.append("glue")
        if mistake == "star in a list":
            return [*value]
        if mistake == "star in a set":
            return {*value}
        if mistake == "star in a tuple":
            return (*value,)
        if mistake == "double star":
            return {**value}
        if mistake == "with":
            with value:
                return "entered"
        for item in value:
            log.append(item)
        return "looped"

    stats = _raises_like_plain_python_with_the_glue_run_once(f, log)
    assert stats["reruns"] == 0 and not stats["fallbacks"]


def test_a_generator_of_op_results_given_to_a_c_function_is_not_taken_for_the_programs_error(
) -> None:
    """`"+".join(gen)` in code without source: the one call of its line, but its
    argument is a generator XCS cannot look into, so the TypeError may be a lazy value's
    and the call falls back (the right text), never raising what plain Python does not."""
    f = without_source(
        "def f(xs):\n"
        "    gen = (word(x) for x in xs)\n"
        "    return '+'.join(gen)\n", "f")
    fast = jit(f)
    assert fast([1, 2]) == f([1, 2]) == "w1+w2"
    assert fast([3, 4]) == "w3+w4"
    held = without_source(  # the generator inside an object of the user's
        "def held(xs):\n"
        "    box = Holder()\n"
        "    box.value = (word(x) for x in xs)\n"
        "    return '+'.join(box.value)\n", "held")
    assert jit(held)([5, 6]) == held([5, 6]) == "w5+w6"


STORE: dict[str, object] = {}


def test_a_lazy_value_out_of_sight_falls_back_to_a_plain_run() -> None:
    f = jit(without_source(
        "def f(x):\n"
        "    STORE['v'] = word(x)\n"
        "    return json.dumps(STORE)\n", "f"))
    f.__wrapped__.__globals__["STORE"] = STORE  # type: ignore[attr-defined]
    calls.clear()
    assert f(4) == '{"v": "w4"}'
    assert calls == ["word4"], "the op ran once: the plain rerun reused it"
    eager = [item for item in get_jit_stats(f)["fallbacks"]
             if item.startswith("ran eagerly after TypeError")]
    assert len(eager) == 1 and not eager[0].endswith("in a row]")  # noted once per call
    assert f(5) == '{"v": "w5"}'
    assert get_jit_stats(f)["fallbacks"][-1] == eager[0] + " [2 times in a row]"


def test_without_fallback_a_rejection_that_learning_cannot_fix_is_a_tracing_error() -> None:
    joined = jit(without_source(
        "def joined(xs):\n    return '+'.join([word(x) for x in xs])\n", "joined"),
        config=Config(fallback=False))
    # A learned barrier is not a fallback: the line is learned and the call succeeds.
    assert joined([1, 2]) == "w1+w2"

    both = jit(without_source(
        "def both(x):\n"
        "    visible = word(x)\n"
        "    holder = Holder()\n"
        "    holder.value = word(x + 1)\n"
        "    return json.dumps([visible, holder.value])\n", "both"),
        config=Config(fallback=False))
    assert both(5) == '["w5", "w6"]', "the learned line resolves what its locals hold"

    stubborn = jit(without_source(
        "def stubborn(x):\n"
        "    visible = word(x)\n"
        "    STORE['v'] = word(x + 1)\n"
        "    return json.dumps([visible, STORE])\n", "stubborn"),
        config=Config(fallback=False))
    stubborn.__wrapped__.__globals__["STORE"] = STORE  # type: ignore[attr-defined]
    with pytest.raises(TracingError, match="fallback=False"):
        stubborn(5)
    assert stubborn.with_config(fallback=True)(5) == '["w5", {"v": "w6"}]'
