from __future__ import annotations

import json
import re
import time

from ember.xcs import explain, get_jit_stats, jit, op
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.learned import LearnedBarriers

calls: list[str] = []


@op
def word(x: int) -> str:
    calls.append(f"word{x}")
    time.sleep(0.05)
    return f"w{x}"


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


def test_rejected_lazy_values_are_learned_and_never_run_twice() -> None:
    @jit
    def f(items: list[int]) -> dict[str, object]:
        results = [word(i) for i in items]
        text = ", ".join(results)
        encoded = json.dumps({"first": word(100)})
        match = re.match(r"w(\d)", word(items[0]))
        return {"text": text, "json": encoded, "digit": match.group(1) if match else None}

    expected = {"text": "w1, w2, w3", "json": '{"first": "w100"}', "digit": "1"}
    for call in range(3):
        calls.clear()
        started = time.perf_counter()
        assert f([1, 2, 3]) == expected
        assert sorted(calls) == sorted(["word1", "word2", "word3", "word100", "word1"])
        if call:
            assert time.perf_counter() - started < 0.35  # no reruns: about 3 x 50 ms rounds
    stats = get_jit_stats(f)
    assert len(stats["learned_barriers"]) == 3
    assert stats["reruns"] == 3  # all learned on the first call
    assert "learned barriers (3):" in explain(f)


class Holder:
    value: object = None


def test_a_lazy_value_hidden_in_an_object_falls_back_to_a_plain_run() -> None:
    @jit
    def f(x: int) -> str:
        holder = Holder()
        holder.value = word(x)  # stored on a plain object: out of the tracer's sight
        return json.dumps({"v": holder.value})

    calls.clear()
    assert f(4) == '{"v": "w4"}'
    assert calls == ["word4"], "the op ran once, the plain rerun reused it"
    stats = get_jit_stats(f)
    assert any(item.startswith("ran eagerly after TypeError") for item in stats["fallbacks"])


def test_genuine_type_errors_are_raised_unchanged() -> None:
    @jit
    def f(x: int) -> str:
        text = word(x)
        return text + 1  # type: ignore[operator]

    try:
        f(1)
    except TypeError as error:
        assert 'can only concatenate str (not "int") to str' in str(error)
    else:
        raise AssertionError("expected TypeError")


def test_without_fallback_a_rejection_is_a_tracing_error() -> None:
    from ember.xcs import Config, TracingError

    @jit(config=Config(fallback=False))
    def joined(xs: list[int]) -> str:
        return "+".join([word(x) for x in xs])

    # A learned barrier is not a fallback: the line is learned and the call succeeds.
    assert joined([1, 2]) == "w1+w2"

    @jit(config=Config(fallback=False))
    def hidden(x: int) -> str:
        holder = Holder()
        holder.value = word(x)
        return json.dumps([holder.value, len(str(x))])

    try:
        hidden(3)
    except TypeError as error:  # cannot tell it from the program's own error: raised as is
        assert "not JSON serializable" in str(error)
    else:
        raise AssertionError("expected TypeError")

    @jit(config=Config(fallback=False))
    def both(x: int) -> str:
        visible = word(x)
        holder = Holder()
        holder.value = word(x + 1)
        return json.dumps([visible, holder.value])  # learning `visible` is not enough

    try:
        both(5)
    except TracingError as error:
        assert "fallback=False" in str(error) and "test_learned.py" in str(error)
    else:
        raise AssertionError("expected TracingError")
    assert both.with_config(fallback=True)(5) == '["w5", "w6"]'
