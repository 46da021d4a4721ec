"""A lifted operation that could not keep plain Python's meaning runs at its call site:
handed a method bound to an object of the glue (``key=scores.get``), it reads that
object as it is at the call, not as the glue changed it afterwards."""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import itertools
import json
import operator
import re
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op


@op
def judge(candidate: str) -> int:
    time.sleep(0.01)
    return {"a": 3, "b": 1, "c": 2}[candidate]


@op
def classify(text: str) -> str:
    time.sleep(0.01)
    return {"a": "high", "b": "low", "c": "mid"}[text]


@op
async def ajudge(candidate: str) -> int:
    await asyncio.sleep(0.01)
    return {"a": 3, "b": 1, "c": 2}[candidate]


def rank_then_reset(cands: list[str]) -> list[str]:
    scores = {c: judge(c) for c in cands}
    ranking = sorted(scores, key=scores.get, reverse=True)
    scores.clear()
    scores["b"] = 100
    return ranking


def rank_then_reweight(cands: list[str]) -> list[str]:
    scores = {c: judge(c) for c in cands}
    ranking = sorted(scores, key=scores.get, reverse=True)
    scores["b"] = 100
    return ranking


def by_priority(texts: list[str]) -> list[str]:
    priority = {"high": 0, "mid": 1, "low": 2}
    labels = [classify(t) for t in texts]
    ordered = sorted(labels, key=priority.get)
    priority["low"] = -1
    return ordered


def by_count(texts: list[str]) -> list[str]:
    counts = collections.Counter({"high": 5, "mid": 1, "low": 3})
    labels = [classify(t) for t in texts]
    ordered = sorted(labels, key=counts.__getitem__)
    counts["mid"] = 10
    return ordered


def by_partial(texts: list[str]) -> list[str]:
    counts = {"high": 5, "mid": 1, "low": 3}
    labels = [classify(t) for t in texts]
    ordered = sorted(labels, key=functools.partial(operator.getitem, counts))
    counts["mid"] = 10
    return ordered


def by_user_dict(texts: list[str]) -> list[str]:
    weights = collections.UserDict({"high": 0, "mid": 1, "low": 2})
    labels = [classify(t) for t in texts]
    ordered = sorted(labels, key=weights.get)
    weights["low"] = -1
    return ordered


@pytest.mark.parametrize("program", [rank_then_reset, rank_then_reweight, by_priority,
                                     by_count, by_partial, by_user_dict], ids=lambda p: p.__name__)
def test_a_key_bound_to_the_glue_s_object_reads_it_at_the_call(
        program: Callable[[list[str]], Any]) -> None:
    jitted = jit(program)
    for _ in range(2):  # the first call and a later one
        assert jitted(["a", "b", "c"]) == program(["a", "b", "c"])


def test_keys_bound_to_nothing_that_changes_keep_the_call_lifted() -> None:
    def shortest(texts: list[str]) -> list[str]:
        labels = [classify(t) for t in texts]
        return sorted(labels, key=len) + sorted(labels, key="high mid low".index)

    jitted = jit(shortest)
    assert jitted(["a", "b", "c"]) == shortest(["a", "b", "c"])
    assert get_jit_stats(jitted)["barriers"] == []


def test_async_glue_ranks_by_the_scores_at_the_call() -> None:
    async def rank(cands: list[str]) -> list[str]:
        scores = {c: await ajudge(c) for c in cands}
        ranking = sorted(scores, key=scores.get, reverse=True)
        scores.clear()
        scores["b"] = 100
        return ranking

    assert asyncio.run(jit(rank)(["a", "b", "c"])) == asyncio.run(rank(["a", "b", "c"]))


@op
def order(items: list[str], key: Any) -> list[str]:
    time.sleep(0.02)
    return sorted(items, key=key)


def test_an_op_given_a_bound_builtin_method_holds_its_object() -> None:
    def program(texts: list[str]) -> list[str]:
        priority = {"high": 0, "mid": 1, "low": 2}
        ordered = order(["low", "mid", "high"], priority.get)
        priority["low"] = -1  # waits for the op, which in plain Python had finished
        return ordered

    assert jit(program)(["a"]) == program(["a"]) == ["high", "mid", "low"]


@op
def ask(x: Any) -> Any:
    time.sleep(0.01)
    return x


@op
async def aask(x: Any) -> Any:
    await asyncio.sleep(0.01)
    return x


LOG: list[Any] = []


def tag(x: str) -> str:
    LOG.append(("tag", x))
    return x.lower()


def join_prefixed(items: list[str]) -> str:
    sep = ask(" | ")
    prefix = "a:"
    joined = sep.join(prefix + x for x in items)
    prefix = "b:"
    return joined


def join_then_change(items: list[str]) -> str:
    sep = ask(",")
    pending = list(items)
    joined = sep.join(x for x in pending)
    pending.append("LATE")
    return joined


def join_logged(items: list[str]) -> tuple[str, list[Any]]:
    LOG.clear()
    sep = ask("-")
    joined = sep.join(map(tag, items))
    LOG.append("after join")
    return joined, list(LOG)


def subset_then_grow(items: list[str]) -> bool:
    seen = ask({"a", "b"})
    source = ["a", *items]
    ok = seen.issubset(x for x in source)
    source.append("b")
    return ok


def union_prefixed(items: list[str]) -> list[str]:
    seen = ask({"a"})
    base = "p"
    union = seen.union(base + x for x in items)
    base = "q"
    return sorted(union)


def head_then_rest(items: list[str]) -> tuple[str, list[str]]:
    sep = ask(",")
    rows = iter(items)
    head = sep.join(itertools.islice(rows, 2))
    return head, list(rows)


def join_op_results(items: list[str]) -> str:
    sep = ask("+")
    replies = [ask(x) for x in items]
    return sep.join(r.upper() for r in replies)


@pytest.mark.parametrize("program", [join_prefixed, join_then_change, join_logged,
                                     subset_then_grow, union_prefixed, head_then_rest,
                                     join_op_results], ids=lambda p: p.__name__)
def test_a_method_of_an_op_result_reads_the_iterator_it_is_given_at_the_call(
        program: Callable[[list[str]], Any]) -> None:
    jitted = jit(program)
    for _ in range(2):
        assert jitted(["x", "Y", "z"]) == program(["x", "Y", "z"])


def test_a_method_given_an_iterator_in_async_glue_reads_it_at_the_call() -> None:
    async def joined(items: list[str]) -> str:
        sep = await aask(",")
        prefix = "a"
        text = sep.join(prefix + x for x in items)
        prefix = "b"
        return text

    assert asyncio.run(jit(joined)(["x", "y"])) == asyncio.run(joined(["x", "y"])) == "ax,ay"


def user_dict() -> str:
    t = ask("{tone}")
    cfg = collections.UserDict(tone="calm")
    text = t.format_map(cfg)
    cfg["tone"] = "angry"
    return text


def user_list() -> str:
    sep = ask(", ")
    parts = collections.UserList(["a"])
    text = sep.join(parts)
    parts.append("b")
    return text


def namespace() -> str:
    t = ask("model={0.model}")
    args = argparse.Namespace(model="small")
    text = t.format(args)
    args.model = "large"
    return text


def chain_map() -> str:
    t = ask("{tone}/{lang}")
    defaults = {"tone": "calm", "lang": "en"}
    text = t.format_map(collections.ChainMap({"lang": "fr"}, defaults))
    defaults["tone"] = "angry"
    return text


def mapping_proxy() -> str:
    t = ask("{tone}")
    cfg = {"tone": "calm"}
    text = t.format_map(types.MappingProxyType(cfg))
    cfg["tone"] = "angry"
    return text


def seen_before() -> bool:
    answers = {"q1": "A"}
    r = ask("A")
    repeated = r in answers.values()
    answers["q1"] = "B"
    return repeated


def keys_view() -> str:
    sep = ask(",")
    d = {"a": 1, "b": 2}
    text = sep.join(d.keys())
    d["c"] = 3
    return text


def view_of_op_results() -> tuple[bool, str]:
    answers = {q: ask(q) for q in ("x", "y")}
    r = ask("y")
    return r in answers.values(), ask("+").join(answers.values())


@pytest.mark.parametrize("program", [user_dict, user_list, namespace, chain_map,
                                     mapping_proxy, seen_before, keys_view,
                                     view_of_op_results], ids=lambda p: p.__name__)
def test_library_mappings_and_views_are_read_as_they_are_at_the_call(
        program: Callable[[], Any]) -> None:
    jitted = jit(program)
    for _ in range(2):
        assert jitted() == program()


def test_async_glue_reads_a_user_dict_as_it_is_at_the_call() -> None:
    async def fill() -> str:
        t = await aask("{tone}")
        cfg = collections.UserDict(tone="calm")
        text = t.format_map(cfg)
        cfg["tone"] = "angry"
        return text

    assert asyncio.run(jit(fill)()) == asyncio.run(fill()) == "calm"


def fill_slots() -> tuple[str, list[str]]:
    t = ask("{name} is {age}")
    slots: dict[str, str] = collections.defaultdict(lambda: "?")
    slots["name"] = "bob"
    return t.format_map(slots), sorted(slots)


def strip_chars() -> tuple[str, list[int]]:
    r = ask("abc")
    table: dict[int, Any] = collections.defaultdict(lambda: None)
    table[ord("a")] = "A"
    return r.translate(table), sorted(table)


def percent() -> tuple[str, list[str]]:
    r = ask("%(name)s-%(zz)s")
    d = collections.defaultdict(str, name="x")
    return r % d, sorted(d)


def format_items() -> tuple[str, list[str]]:
    r = ask("{0[name]}/{0[age]}")
    d: dict[str, str] = collections.defaultdict(lambda: "?", name="x")
    return r.format(d), sorted(d)


class Slots(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        self[key] = f"<{key}>"
        return self[key]


def own_missing_in_a_list() -> tuple[str, list[str]]:
    r = ask("{0[0][name]} {0[0][age]}")
    slots = Slots(name="x")
    return r.format([slots]), sorted(slots)


def op_result_in_the_dict() -> tuple[str, list[str]]:
    slots: dict[str, Any] = collections.defaultdict(lambda: "?")
    slots["name"] = ask("bob")
    return "{name} {age}".format_map(slots), sorted(slots)


@pytest.mark.parametrize("program", [fill_slots, strip_chars, percent, format_items,
                                     own_missing_in_a_list, op_result_in_the_dict],
                         ids=lambda p: p.__name__)
def test_a_dict_whose_missing_keys_are_added_is_read_by_the_operation_itself(
        program: Callable[[], Any]) -> None:
    jitted = jit(program)
    for _ in range(2):
        assert jitted() == program()


def test_a_counter_keeps_the_operation_lifted() -> None:
    def counted() -> str:
        return ask("{a}/{b}").format_map(collections.Counter(a=2))

    jitted = jit(counted)
    assert jitted() == counted() == "2/0"
    assert get_jit_stats(jitted)["barriers"] == []


def test_async_glue_fills_the_caller_s_defaultdict() -> None:
    async def fill() -> tuple[str, list[str]]:
        t = await aask("{name} is {age}")
        slots: dict[str, str] = collections.defaultdict(lambda: "?", name="bob")
        return t.format_map(slots), sorted(slots)

    assert asyncio.run(jit(fill)()) == asyncio.run(fill()) == ("bob is ?", ["age", "name"])


# -- code of the user's a library function calls back and takes the result of at once --

glue_log: list[str] = []


@op
def translate(word: str) -> str:
    time.sleep(0.01)
    return word.upper()


def _shout(match: Any) -> str:
    glue_log.append(match.group(0))
    return "-".join([translate(match.group(0)), translate(match.group(0))])


def by_re_functions(text: str) -> list[Any]:
    glue_log.append("top")
    answers = {word: translate(word) for word in text.split()}
    return [re.sub(r"\w+", lambda m: translate(m.group(0)), text),
            re.subn(r"\w+", lambda m: translate(m.group(0)), text),
            re.sub(r"\w+", lambda m: translate(m.group(0)), text, count=1),
            re.compile(r"\w+").sub(lambda m: translate(m.group(0)), text),
            re.sub(r"\w+", lambda m: answers[m.group(0)], text),  # op results it closes over
            re.sub(r"\w+", _shout, text),
            re.sub(r"\w+", lambda m: translate(m.group(0)) + "!", translate(text))]


class Thing:
    pass


class Describing(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        glue_log.append("default")
        return translate(type(o).__name__)


def by_json_hooks(thing: Thing) -> list[Any]:
    glue_log.append("top")
    return [json.dumps({"item": thing, "n": 1}, default=lambda o: translate(type(o).__name__)),
            json.dumps([thing], cls=Describing),
            json.loads('{"a": "x"}', object_hook=lambda d: {k: translate(v) for k, v in d.items()})]


def by_key_function(texts: list[str]) -> list[str]:
    glue_log.append("top")
    return sorted(texts, key=_shout_key) + [min(texts, key=_shout_key)]


def _shout_key(text: str) -> str:
    glue_log.append(text)
    return " ".join([translate(text), translate(text)])


@pytest.mark.parametrize(("program", "argument"), [
    (by_re_functions, "hello big world"), (by_json_hooks, Thing()),
    (by_key_function, ["b", "a", "c"])], ids=lambda p: getattr(p, "__name__", ""))
def test_code_a_library_calls_back_gives_it_values(program: Callable[[Any], Any],
                                                    argument: Any) -> None:
    glue_log.clear()
    expected, plain_log = program(argument), list(glue_log)
    jitted = jit(program)
    for _ in range(2):  # the first call and a later one
        glue_log.clear()
        assert (jitted(argument), glue_log) == (expected, plain_log)  # the glue ran once
    assert get_jit_stats(jitted)["reruns"] == 0


def test_a_key_function_of_the_user_s_keeps_its_ops_parallel() -> None:
    jitted = jit(by_key_function)
    assert jitted(["b", "a", "c"]) == ["a", "b", "c", "a"]
    assert get_jit_stats(jitted)["max_parallelism"] >= 6  # every key's two ops at once
