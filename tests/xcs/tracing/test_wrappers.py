"""Library wrappers around functions of the user's, called by jitted code
(``tracing.wrappers``): ``functools.cache`` and ``lru_cache`` run their function with its
ops at their call (C code in it gets values: no rerun repeats the glue's side effects,
and the cache counts what it counts in plain Python); ``singledispatch`` and
``methodcaller`` are seen through (the function they call runs rewritten, in parallel)."""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable
from typing import Any

from ember.xcs import get_jit_stats, jit, op

log: list[str] = []


@op
def llm(prompt: str) -> str:
    time.sleep(0.01)
    return prompt.upper()


def _cached_summary(maxsize: int | None) -> Any:
    """A fresh cache (its own hits and misses) over a helper whose C code takes op results."""

    @functools.lru_cache(maxsize=maxsize)
    def summarize(doc: str) -> str:
        log.append(doc)
        return " / ".join([llm(doc), llm(doc + "!")])

    return summarize


def every_way_of_calling(summarize: Callable[[str], str], docs: list[str]) -> list[str]:
    log.append("top")
    return [summarize(d) for d in docs] + sorted(docs, key=summarize) \
        + list(map(summarize, docs))


def _same_as_plain(program: Callable[..., Any], *make: Callable[[], Any]) -> Any:
    """Run ``program`` plainly and jitted (each on fresh objects from ``make``): the
    same result, the same side effects, no rerun. Returns both sets of objects."""
    plain_objects, jit_objects = [m() for m in make], [m() for m in make]
    log.clear()
    expected = program(*plain_objects, ["c", "d", "c"])
    plain_log = list(log)
    log.clear()
    jitted = jit(program)
    got = jitted(*jit_objects, ["c", "d", "c"])
    assert (got, log) == (expected, plain_log)
    assert get_jit_stats(jitted)["reruns"] == 0
    return plain_objects, jit_objects, got


def test_a_cached_helper_runs_the_glue_once_and_counts_as_in_plain_python() -> None:
    for maxsize in (None, 1):
        plain, jitted, got = _same_as_plain(every_way_of_calling,
                                            lambda maxsize=maxsize: _cached_summary(maxsize))
        assert jitted[0].cache_info() == plain[0].cache_info()
        assert all(type(item) is str for item in got)


def test_a_cache_jitted_directly_counts_as_in_plain_python() -> None:
    plain, cached = _cached_summary(None), _cached_summary(None)
    jitted = jit(cached)
    log.clear()
    assert [plain(d) for d in "aba"] == ["A / A!", "B / B!", "A / A!"]
    plain_log = list(log)
    log.clear()
    assert [jitted(d) for d in "aba"] == ["A / A!", "B / B!", "A / A!"]
    assert log == plain_log == ["a", "b"]
    assert cached.cache_info() == plain.cache_info()  # 1 hit, 2 misses: no failed first run
    assert get_jit_stats(jitted)["reruns"] == 0


def test_a_bounded_cache_keeps_values() -> None:
    @functools.lru_cache(maxsize=4)
    def answer(question: str) -> str:
        return llm(question)  # an op result, kept where escape repair cannot reach it

    jitted = jit(lambda question: answer(question) + "?")
    assert jitted("x") == "X?"
    assert type(answer("x")) is str  # the entry is the value, not a lazy one
    assert answer.cache_info().hits == 1
    assert get_jit_stats(jitted)["unrepaired_escapes"] == {}


@functools.singledispatch
def describe(doc: object) -> str:
    log.append(str(doc))
    return "/".join([llm(str(doc)), llm(f"{doc}?")])


@describe.register
def _(doc: int) -> str:
    log.append("number")
    return ",".join([llm(str(doc)), llm(str(-doc))])


def by_dispatch(docs: list[Any]) -> list[str]:
    log.append("top")
    return [describe(d) for d in docs] + [describe(llm("e"))]  # an op result dispatched


class Note:
    def __init__(self, sep: str) -> None:
        self.sep = sep

    def render(self, doc: str, *, tail: str = "") -> str:
        log.append(doc)
        return self.sep.join([llm(doc), llm(doc + tail)])


def by_method_caller(docs: list[str]) -> list[str]:
    log.append("top")
    plain_call = operator.methodcaller("render", docs[0])
    with_keyword = operator.methodcaller("render", docs[1], tail="?")
    return [plain_call(Note(":")), with_keyword(Note("+")), *map(plain_call, [Note("-")])]


def test_singledispatch_and_methodcaller_are_seen_through_in_parallel() -> None:
    for program in (by_dispatch, by_method_caller):
        docs: list[Any] = ["c", 3, "c"] if program is by_dispatch else ["c", "d"]
        log.clear()
        expected, plain_log = program(docs), list(log)
        log.clear()
        jitted = jit(program)
        assert (jitted(docs), log) == (expected, plain_log)
        stats = get_jit_stats(jitted)
        assert stats["reruns"] == 0
        assert stats["max_parallelism"] >= 4, program.__name__  # the helpers' ops overlap
