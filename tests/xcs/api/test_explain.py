from __future__ import annotations

import json
import re
import sys
import time

import pytest

from ember.xcs import Config, explain, get_jit_stats, jit, op


@op
def ask(model: str, question: str) -> str:
    time.sleep(0.01)
    return f"{model}:{question}"


def answer(question: str) -> str:
    drafts = [ask(m, question) for m in ("a", "b", "c")]
    best = ask("judge", " | ".join(drafts))
    return json.dumps({"best": best})


def test_explain_reports_ir_groups_path_and_barriers() -> None:
    text = explain(answer, "why?")
    assert text.startswith("explain: answer")
    assert "IR:" in text and "lambda question." in text
    # The join and json.dumps are lifted nodes with edges, not waits.
    assert "d = call str.join([a, b, c])" in text and "e = ask('judge', d)" in text
    assert "parallel groups (2, widest 3):" in text
    assert "  0: a=ask, b=ask, c=ask" in text
    assert "critical path: ask -> ask" in text
    assert "barriers (0):" in text and "learned barriers (0):" in text


def test_explain_reports_learned_lines_of_code_without_source() -> None:
    namespace = {"ask": ask, "json": json}
    exec(compile(
        "def answer(question):\n"
        "    drafts = [ask(m, question) for m in ('a', 'b', 'c')]\n"
        "    return ' | '.join(drafts)\n", "<no source>", "exec"), namespace)
    text = explain(namespace["answer"], "why?")
    assert "learned barriers (1):" in text
    assert "learned line at <no source>:3" in text  # the wait at the learned line
    assert "<no source>:3" in text and "TypeError" in text


def test_explain_without_arguments_uses_the_last_call() -> None:
    fast = jit(lambda q: [ask("x", q)])
    fast("hi")
    assert "x" in fast.explain() and "calls so far: 1" in fast.explain()
    never = jit(lambda: 1)
    assert "no call yet: call the function" in explain(never)
    never()
    assert "no ops were called on the last call (nothing to parallelise)" in explain(never)


def test_explain_says_the_last_call_raised() -> None:
    @op
    def check(x: int) -> int:
        if x == 2:
            raise ValueError(f"bad {x}")
        return x

    failing = jit(lambda: [check(0), check(2)])
    with pytest.raises(ValueError):
        failing()
    assert "the call raised ValueError: bad 2" in explain(failing)
    hidden = jit(lambda: [check(2)], config=Config(redact=True))
    with pytest.raises(ValueError):
        hidden()
    assert "the call raised ValueError\n" in explain(hidden)  # no message: it may hold values


def test_eager_ops_in_try_blocks_are_reported_as_barriers() -> None:
    @jit
    def guarded(q: str) -> list[str]:
        try:
            first = ask("a", q)
            second = ask("b", q)
        except ValueError:
            return []
        return [first, second]

    text = explain(guarded, "x")
    assert "eager op (try/with) at" in text and "test_explain.py" in text
    assert "parallel groups (2, widest 1):" in text


def test_a_barrier_repeated_in_a_loop_is_listed_once_with_its_count() -> None:
    def keep_answers(question: str) -> list[str]:
        kept = []
        for i in range(20):
            reply = ask("m", f"{question} {i}")
            if reply:  # `if` needs the real value: the glue waits here on every iteration
                kept.append(reply)
        return kept

    text = explain(keep_answers, "why?")
    section = text.split("barriers (20):\n", 1)[1].split("learned barriers", 1)[0]
    waits = [line for line in section.splitlines() if line.strip()
             and not line.startswith("      fix: ")]
    line = keep_answers.__code__.co_firstlineno + 4  # the `if reply:` line
    assert len(waits) == 1, text  # one line for 20 waits at one place, not 20 lines
    assert re.fullmatch(rf"  bool at {re.escape(__file__)}:{line} \[(dynamic|static)\] x20",
                        waits[0]), text


def _count_words(text: str) -> int:
    return len(text.split())


def measured(question: str) -> tuple[int, int]:
    first = ask("a", question)
    size = len(first)  # a builtin that needs the value: the glue waits here
    words = _count_words(ask("b", question))  # a user function reading the value
    return size, words


def test_barrier_fixes_fit_what_was_called() -> None:
    text = explain(measured, "why?")
    lines = text.splitlines()
    at_len = lines.index(next(line for line in lines if "call of len at" in line))
    assert "len() reads the real value" in lines[at_len + 1]
    assert "pure" not in lines[at_len + 1]  # a builtin cannot be marked


@op
def fetched(key: str) -> str:
    return key


@op(effect=True)
def saved(value: str) -> str:
    return value


def test_an_effect_op_given_an_op_result_is_one_barrier() -> None:
    from ember.xcs import get_jit_stats

    fast = jit(lambda key: saved(fetched(key)))
    assert fast("a") == "a"
    barriers = get_jit_stats(fast)["barriers"]
    assert len(barriers) == 1 and barriers[0].startswith("eager op (effect) at "), barriers


def test_calls_of_a_jitted_generator_function_are_counted_and_explained() -> None:
    @jit
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield ask("x", str(i))

    assert list(numbers(2)) == ["x:0", "x:1"] and list(numbers(1)) == ["x:0"]
    line = sys._getframe().f_lineno - 1  # both calls were made there
    stats = get_jit_stats(numbers)
    assert stats["calls"] == 2 and stats["traced_calls"] == 0
    assert stats["fallbacks"] == ["a generator function: its body runs as plain Python while "
                                  "the generator is consumed; jit a function that consumes it "
                                  f"to run its ops concurrently (at {__file__}:{line}) "
                                  "[2 times in a row]"]
    text = explain(numbers)
    assert "calls so far: 2 (2 ran as plain Python, untraced: see fallbacks)" in text
    assert "no call yet" not in text


def test_explain_before_the_first_call_says_how_to_make_one() -> None:
    assert "no call yet: call the function, or f() to run one" in explain(jit(lambda: 1))
    assert "or explain(f, *args) to run one" in explain(jit(lambda x: x))


@op
def _record(k: str) -> dict[str, object]:
    return {"answer": k.upper(), "items": [1, 2]}


def _waits_everywhere(k: str) -> tuple[str, int]:
    r = _record(k)
    s = f"got {r['answer']}"  # lifted: no barrier
    n = len(r["items"])
    for _ in r["answer"]:
        pass
    a, b = r["items"]
    if r["answer"]:
        pass
    return s, n


def test_barrier_kinds_follow_the_semantics_page_and_every_barrier_has_a_fix() -> None:
    from ember.xcs.ir.graph import SourceLocation
    from ember.xcs.tracing.barrier import Barrier

    waits = jit(_waits_everywhere)
    text = explain(waits, "k")
    first = _waits_everywhere.__code__.co_firstlineno
    section = text.split("barriers (4):\n", 1)[1].split("learned barriers", 1)[0]
    lines = section.splitlines()
    assert [line.split(" at ")[0].strip() + " " + line.rsplit(" ", 1)[1]
            for line in lines[::2]] == ["call of len [static]", "iter [dynamic]",
                                        "unpacking [static]", "bool [dynamic]"], text
    assert all(f"_explain.py:{first + n}" in line for n, line in zip((3, 4, 6, 7), lines[::2]))
    assert all(line.startswith("      fix: ") for line in lines[1::2]), text
    assert get_jit_stats(waits)["barrier_kinds"] == {"static": 2, "dynamic": 2}
    where = SourceLocation("f.py", 1, "f")
    kinds = {reason: Barrier(reason, where, None, 0).kind for reason in (
        "index", "__index__", "isinstance", "is", "** unpacking", ".__doc__", "in",
        "eager op (serial)", "eager op (effect)", "call of an op result", "call of print")}
    assert kinds == {"index": "static", "__index__": "dynamic", "isinstance": "dynamic",
                     "is": "static", "** unpacking": "static", ".__doc__": "static",
                     "in": "dynamic", "eager op (serial)": "dynamic",
                     "eager op (effect)": "static", "call of an op result": "dynamic",
                     "call of print": "static"}


@op
def bump(x: int) -> int:
    return x + 1


@jit
async def pair_async(x: int) -> list[int]:
    return [bump(x), bump(x)]


def test_explain_runs_the_call_of_an_async_function_to_its_end() -> None:
    text = explain(pair_async, 5)
    assert "calls so far: 1" in text and "bump(5)" in text
    assert "parallel groups (1, widest 2):" in text


def test_explain_and_compare_run_an_async_function_inside_a_running_loop() -> None:
    import asyncio

    from ember.xcs import compare

    @jit
    async def failing(x: int) -> int:
        raise KeyError(x)

    async def notebook_cell() -> tuple[str, dict[str, object]]:  # a loop is running here
        with pytest.raises(KeyError):
            explain(failing, 3)
        return explain(pair_async, 7), compare(pair_async, 7, repeat=1, warmup=0)

    text, measured = asyncio.run(notebook_cell())
    assert "bump(7)" in text and measured["identical"] is True


def test_explain_says_when_the_call_shown_is_not_the_last_one() -> None:
    @op
    def check(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    @jit
    def checked(xs: list[int]) -> object:
        if not xs:
            return "nothing"  # this call issues no op
        return [check(x) for x in xs]

    with pytest.raises(ValueError):
        checked([1, -1])
    assert "issued no ops" not in explain(checked)
    text = explain(checked, [])  # ran fine, but traced nothing: the failing call is shown
    assert "the last call issued no ops (or ran as plain Python): shown below is call 1" in text
    checked([])
    assert "the last 2 calls issued no ops" in explain(checked)
    checked([3])
    assert "issued no ops" not in explain(checked) and "check(3)" in explain(checked)


@op
def words_of(text: str) -> list[str]:
    return text.split()


def _batch_of_an_op_result(text):
    from ember.xcs import vmap

    return vmap(bump_len)(words_of(text))


@op
def bump_len(word):
    return len(word) + 1


def test_type_check_barrier_is_not_explained_as_an_is_comparison() -> None:
    # A library reading __class__ of an op result: the fix for "isinstance" is a type
    # check's, not the one for `is` (a prefix of it).
    from ember.xcs.api.explanation import _fix

    fix = _fix("isinstance")
    assert "a type check" in fix and "`is` compares objects" not in fix, fix


def test_a_transform_given_an_op_result_explains_its_wait() -> None:
    # vmap given an op result as its batch waits for it: what it is decides the mapping.
    text = explain(jit(_batch_of_an_op_result), "ab c")
    line = next(line for line in text.splitlines()
                if line.strip().startswith("transform argument at"))
    fix = text.splitlines()[text.splitlines().index(line) + 1]
    assert "a transform (vmap, pmap, scan) given an op result" in fix, text
