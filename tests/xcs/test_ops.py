from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
import time

import pytest

from ember.api.decorators import mark_orchestration, mark_tensor
from ember.api.decorators import op as api_op
from ember.api.operators import Operator
from ember.xcs import Config, Op, XCSError, get_jit_stats, jit, op
from ember.xcs.ops import as_op, is_op
from tests.concurrency import PeakProbe


def test_op_outside_a_trace_is_a_plain_call() -> None:
    @op
    def add(a: int, b: int) -> int:
        return a + b

    assert isinstance(add, Op)
    assert add(2, 3) == 5
    assert add.__name__ == "add" and add.name == "add"
    # ember.api's op is pyember's: an Operator that runs as this kind of op.
    assert isinstance(api_op(add.fn), Operator) and api_op(add.fn).as_op().fn is add.fn


def test_op_options_and_validation() -> None:
    named = op(lambda x: x, name="identity", effect=True, max_concurrency=2)
    assert (named.name, named.effect, named.max_concurrency) == ("identity", True, 2)
    with pytest.raises(XCSError, match="max_concurrency"):
        op(lambda x: x, max_concurrency=0)
    with pytest.raises(XCSError, match="needs a callable"):
        Op(42)  # type: ignore[arg-type]
    assert as_op(named) is named and is_op(named) and not is_op(print)


@pytest.mark.parametrize(("setting", "message"), [
    ({"name": 5}, r"op\(name=\.\.\.\) must be a str or None, got int 5"),
    ({"effect": "yes"}, r"op\(effect=\.\.\.\) must be True or False, got str 'yes'"),
    ({"deterministic": 1}, r"op\(deterministic=\.\.\.\) must be True or False"),
    ({"limit_key": [1]}, r"op\(limit_key=\.\.\.\) must be hashable"),
])
def test_wrong_setting_types_are_refused_naming_the_field(
        setting: dict[str, object], message: str) -> None:
    with pytest.raises(XCSError, match=message):
        op(lambda x: x, **setting)  # type: ignore[call-overload]  # wrong types on purpose


def test_an_object_with_invoke_is_pointed_to_invoke_op() -> None:
    class Runnable:
        def invoke(self, text: str) -> str:
            return text

    with pytest.raises(XCSError, match=r"invoke_op\(obj\)"):
        op(Runnable())  # type: ignore[call-overload]  # not callable on purpose


def test_markers_set_kinds() -> None:
    assert mark_orchestration(lambda: 1).kind == "orchestration"  # type: ignore[attr-defined]
    assert mark_tensor(lambda: 1).kind == "tensor"  # type: ignore[attr-defined]


def test_partial_and_callable_objects_as_ops() -> None:
    class Scale:
        def __call__(self, x: int, factor: int) -> int:
            return x * factor

    assert op(functools.partial(Scale(), factor=3))(2) == 6
    assert op(functools.partial(Scale(), factor=3)).name == "Scale"


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    @op
    def bump(self, by: int) -> int:
        self.calls += by
        return self.calls


def test_op_methods_bind() -> None:
    counter = Counter()
    assert counter.bump(2) == 2
    fast = jit(lambda c: [c.bump(1), c.bump(1)])
    assert sorted(fast(counter)) == [3, 4]


@op
async def fetch(x: int) -> int:
    await asyncio.sleep(0.1)
    return x * 10


def test_op_over_staticmethod_and_classmethod_binds_as_they_do() -> None:
    class Tool:
        suffix = "!"

        @op
        @staticmethod
        def plain(x: str) -> str:
            time.sleep(0.02)
            return x + "?"

        @op(name="shouted")
        @classmethod
        def shout(cls, x: str) -> str:
            time.sleep(0.02)
            return x.upper() + cls.suffix

    class Loud(Tool):
        suffix = "!!"

    def use() -> list[str]:
        return [Tool().plain("a"), Tool.plain("b"), Tool.shout("c"), Loud().shout("d")]

    assert use() == ["a?", "b?", "C!", "D!!"]
    jitted = jit(use)
    assert jitted() == ["a?", "b?", "C!", "D!!"]
    assert get_jit_stats(jitted)["max_parallelism"] == 4


def test_coroutine_op_outside_trace_stays_a_coroutine_function() -> None:
    # As without the decorator: calling it gives a coroutine, awaiting that gives the value.
    pending = fetch(4)
    assert inspect.iscoroutine(pending)
    assert asyncio.run(pending) == 40
    assert inspect.iscoroutinefunction(fetch)

    async def plain_async_code() -> list[int]:
        return [await fetch(1), await fetch(2)]

    assert asyncio.run(plain_async_code()) == [10, 20]


def test_coroutine_ops_run_concurrently_on_the_event_loop() -> None:
    @jit
    def gather(n: int) -> list[int]:
        return [fetch(i) for i in range(n)]

    started = time.perf_counter()
    assert gather(10) == [i * 10 for i in range(10)]
    assert time.perf_counter() - started < 0.5  # 10 x 100 ms


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@op
def read_context(x: int) -> str:
    return f"{request_id.get()}:{x}"


def test_op_bodies_see_the_callers_contextvars() -> None:
    token = request_id.set("req-7")
    try:
        assert jit(lambda: [read_context(1), read_context(2)])() == ["req-7:1", "req-7:2"]
    finally:
        request_id.reset(token)


def test_effect_ops_run_in_program_order() -> None:
    log: list[str] = []
    lock = threading.Lock()

    @op(effect=True)
    def write(tag: str) -> str:
        time.sleep(0.01 if tag == "first" else 0)
        with lock:
            log.append(tag)
        return tag

    jit(lambda: [write("first"), write("second"), write("third")])()
    assert log == ["first", "second", "third"]


def test_max_concurrency_is_a_process_wide_cap() -> None:
    probe = PeakProbe()

    @op(max_concurrency=2)
    def limited(x: int) -> int:
        probe.hold(0.02)
        return x

    assert jit(lambda: [limited(i) for i in range(10)])() == list(range(10))
    assert probe.peak == 2


def test_shared_limit_key_caps_several_ops_together() -> None:
    probe = PeakProbe()

    def body(x: int) -> int:
        probe.hold(0.02)
        return x

    first = op(body, max_concurrency=3, limit_key="provider-x")
    second = op(body, max_concurrency=3, limit_key="provider-x")
    jit(lambda: [first(i) if i % 2 else second(i) for i in range(12)])()
    assert probe.peak == 3


def test_tiny_ops_go_inline_and_slow_ones_never_do() -> None:
    @op
    def tiny(x: int) -> int:
        return x

    @op
    def slow(x: int) -> int:
        time.sleep(0.03)
        return x

    fast = jit(lambda: [tiny(i) for i in range(40)])
    fast()
    fast()
    assert tiny.runs_inline
    jit(lambda: [slow(i) for i in range(20)], config=Config(max_workers=20))()
    assert not slow.runs_inline
    assert get_jit_stats(fast)["ops"] == 40


def test_a_slow_run_stops_inlining_for_a_hundred_faster_runs() -> None:
    @op
    def tiny(x: int) -> int:
        return x

    for _ in range(20):
        tiny.observe(2e-6)
    assert tiny.runs_inline
    for slow_runs in (1, 2):  # docs/semantics.md: a hundred faster runs per slow one
        for _ in range(slow_runs):
            tiny.observe(0.025)
        for _ in range(100 * slow_runs - 1):
            tiny.observe(2e-6)
        assert not tiny.runs_inline
        tiny.observe(2e-6)
        assert tiny.runs_inline


def test_effect_ops_wait_for_earlier_ops_and_never_run_after_a_failure() -> None:
    written: list[str] = []

    @op
    def slow_fail() -> None:
        time.sleep(0.05)
        raise ValueError("upstream failed")

    @op(effect=True)
    def write(tag: str) -> str:
        written.append(tag)
        return tag

    @jit
    def pay() -> str:
        slow_fail()
        return write("paid")

    with pytest.raises(ValueError, match="upstream failed"):
        pay()
    assert written == [], "plain Python never reaches the write"
    stats = get_jit_stats(pay)
    assert stats["errors"] == 1


def test_method_ops_keep_their_timing_across_bindings() -> None:
    class Tiny:
        @op
        def echo(self, x: int) -> int:
            return x

    objects = [Tiny() for _ in range(3)]
    fast = jit(lambda: [o.echo(i) for i in range(10) for o in objects])
    fast()
    assert Tiny.echo.runs_inline and objects[0].echo.runs_inline


def test_async_twin_runs_sync_outside_and_on_the_loop_under_jit():
    import asyncio
    import threading

    from ember.xcs import XCSError, jit, op

    threads = []

    def fetch_sync(x):
        threads.append("sync")
        return x * 10

    async def fetch_async(x):
        threads.append(threading.current_thread().name)
        await asyncio.sleep(0.05)
        return x * 10

    fetch = op(fetch_sync, async_fn=fetch_async)
    assert fetch(2) == 20 and threads == ["sync"]

    @jit
    def many(xs):
        return [fetch(x) for x in xs]

    threads.clear()
    assert many(list(range(20))) == [x * 10 for x in range(20)]
    assert "sync" not in threads
    with pytest.raises(XCSError, match="async def"):
        op(fetch_sync, async_fn=fetch_sync)



def test_ops_sharing_a_limit_key_never_exceed_the_smallest_max_concurrency() -> None:
    import threading
    import time

    from ember.xcs import jit

    lock = threading.Lock()
    running = {"now": 0, "peak": 0}

    @op(max_concurrency=1, limit_key="shared-api")
    def strict(i: int) -> int:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        time.sleep(0.03)
        with lock:
            running["now"] -= 1
        return i

    @op(max_concurrency=4, limit_key="shared-api")
    def loose(i: int) -> int:
        return i

    @jit
    def both() -> list[int]:
        out = [strict(i) for i in range(4)]
        loose(0)  # issued last: its larger cap must not lift the strict op's
        return out

    assert both() == [0, 1, 2, 3]
    assert running["peak"] == 1


def test_a_pickled_op_carries_nothing_it_learned_from_its_results() -> None:
    import cloudpickle

    class Reply:  # local: cloudpickle would ship it by value, lock and all
        guard = threading.Lock()

    @op
    def answer(make: type) -> object:
        return make()

    jit(lambda: answer(Reply))()
    assert answer.last_type is Reply  # learned in this process (lifted reads go by it)
    copy = cloudpickle.loads(cloudpickle.dumps(answer))  # as an op is shipped to Dask
    assert copy.last_type is None and copy.name == "answer"
    assert type(copy(Reply)) is Reply
