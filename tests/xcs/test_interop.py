"""LangChain Runnables and invoke-style objects as ops: parallel under @jit, same results."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from ember.xcs import XCSError, get_jit_stats, jit, op
from ember.xcs.cache import MemoryStore, UncacheableError
from ember.xcs.interop import invoke_op

LATENCY = 0.2


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.sync = 0
        self.async_ = 0


def slow_runnable(counter: Counter, name: str) -> RunnableLambda:
    def double(x):
        with counter.lock:
            counter.sync += 1
        time.sleep(LATENCY)
        return x * 2

    async def adouble(x):
        with counter.lock:
            counter.async_ += 1
        await asyncio.sleep(LATENCY)
        return x * 2

    return RunnableLambda(double, afunc=adouble, name=name)


def test_runnable_with_async_twin_runs_on_the_event_loop_in_parallel():
    counter = Counter()
    runnable = slow_runnable(counter, "double")
    double = op(runnable.invoke, async_fn=runnable.ainvoke, name="double")

    @jit
    def fan_out(xs):
        return [double(xs[0]), double(xs[1]), double(xs[2]), double(xs[3])]

    started = time.perf_counter()
    assert fan_out([1, 2, 3, 4]) == [2, 4, 6, 8]
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5 * LATENCY, elapsed  # 4 calls of 0.2 s, at once
    assert (counter.sync, counter.async_) == (0, 4)
    assert get_jit_stats(fan_out)["max_parallelism"] == 4
    assert double(5) == 10 and counter.sync == 1  # plain call: the sync invoke


def test_sync_only_runnable_runs_on_threads_in_parallel():
    counter = Counter()
    runnable = RunnableLambda(slow_runnable(counter, "x").invoke)  # no afunc
    double = invoke_op(runnable, name="double")
    assert double.async_fn is not None  # Runnable.ainvoke exists (it runs invoke on a thread)

    @jit
    def fan_out(xs):
        return [double(xs[0]), double(xs[1]), double(xs[2]), double(xs[3])]

    started = time.perf_counter()
    assert fan_out([1, 2, 3, 4]) == [2, 4, 6, 8]
    assert time.perf_counter() - started < 2.5 * LATENCY


def make_chain(reply: str):
    prompt = ChatPromptTemplate.from_template("Summarise {topic} in one line.")
    return prompt | FakeListChatModel(responses=[reply], sleep=LATENCY) | StrOutputParser()


def test_ensemble_of_chains_plus_judge_equals_plain_python():
    members = [invoke_op(make_chain(f"answer {n}"), name=f"member{n}") for n in range(4)]
    judge_chain = (ChatPromptTemplate.from_template("Pick one of: {answers}")
                   | RunnableLambda(lambda message: message.to_string()))
    judge = invoke_op(judge_chain, name="judge")

    def panel(topic):
        answers = []
        for member in members:  # (a loop: comprehensions are eager on 3.12+ for now)
            answers.append(member({"topic": topic}))
        return judge({"answers": " | ".join(answers)})

    plain = panel("tides")
    fast = jit(panel)
    started = time.perf_counter()
    assert fast("tides") == plain
    assert plain.endswith("Pick one of: answer 0 | answer 1 | answer 2 | answer 3")
    assert time.perf_counter() - started < 3 * LATENCY  # members in parallel, not 4 x 0.2 s
    assert [n.split("[")[0] for n in get_jit_stats(fast)["critical_path"]][-1] == "judge"


def test_invoke_op_for_other_invoke_style_objects():
    class QueryEngine:
        name = "docs"

        def query(self, text):
            return f"found {text}"

        async def aquery(self, text):
            return f"found {text}"

    engine = invoke_op(QueryEngine(), method="query")
    assert engine.name == "docs" and engine.async_fn is not None
    assert jit(lambda: [engine("a"), engine("b")])() == ["found a", "found b"]

    class Plain:
        def run(self, x):
            return x

    with pytest.raises(XCSError, match="has no method 'invoke'; it has run: pass method="):
        invoke_op(Plain())

    class NotAsync:
        def invoke(self, x):
            return x

        def ainvoke(self, x):
            return x

    assert invoke_op(NotAsync()).async_fn is None  # a sync "ainvoke" is ignored
    with pytest.raises(XCSError, match="is not an async def method"):
        invoke_op(NotAsync(), async_method="ainvoke")


def test_caching_a_bound_runnable_needs_a_version():
    chain = make_chain("cached")
    with pytest.raises(UncacheableError, match="bound to is not part of the cache key"):
        op(chain.invoke, cache=MemoryStore())
    calls = []
    store = MemoryStore()
    cached = invoke_op(RunnableLambda(lambda x: calls.append(x) or x + 1), cache=store,
                       version="inc-v1", name="inc")
    assert cached(1) == 2 and calls == [1]
    assert jit(lambda: [cached(1), cached(1)])() == [2, 2]
    assert calls == [1] and store.summary().entries == 1
