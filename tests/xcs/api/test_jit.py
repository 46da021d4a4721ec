from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import re
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from ember.api.operators import Operator
from ember.xcs import (
    Config,
    ConfigError,
    JitFunction,
    Presets,
    get_jit_stats,
    jit,
    op,
    structural_jit,
)


@op
def slow_double(x: int) -> int:
    time.sleep(0.1)
    return 2 * x


def four(x: int) -> list[int]:
    return [slow_double(x + i) for i in range(4)]


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def test_functions_lambdas_and_partials() -> None:
    assert timed(jit(four), 1)[0] == [2, 4, 6, 8]
    result, elapsed = timed(jit(lambda x: [slow_double(x), slow_double(x + 1)]), 5)
    assert result == [10, 12] and elapsed < 0.19
    partial = jit(functools.partial(four, 10))
    assert partial() == [20, 22, 24, 26]
    assert jit(four).__name__ == "four" and jit(four).__wrapped__ is four


def test_decorator_forms_and_config_checks() -> None:
    @jit(config=Config(max_workers=2))
    def capped(x: int) -> list[int]:
        return [slow_double(x + i) for i in range(4)]

    result, elapsed = timed(capped, 0)
    assert result == [0, 2, 4, 6] and 0.19 < elapsed < 0.35
    assert jit(capped) is capped
    with pytest.raises(ConfigError):
        jit(four, config={"max_workers": 2})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        jit(42)


class Pipeline:
    def __init__(self, base: int) -> None:
        self.base = base

    @jit
    def run(self, n: int) -> list[int]:
        return [slow_double(self.base + i) for i in range(n)]


def test_methods() -> None:
    result, elapsed = timed(Pipeline(3).run, 3)
    assert result == [6, 8, 10] and elapsed < 0.19
    assert get_jit_stats(Pipeline(1).run)["calls"] >= 1


class FanOut(Operator):
    def forward(self, *, inputs: dict[str, int]) -> dict[str, list[int]]:
        return {"out": [slow_double(inputs["x"] + i) for i in range(4)]}


def test_operator_classes_and_instances() -> None:
    Jitted = jit(FanOut)
    assert issubclass(Jitted, FanOut) and Jitted.__name__ == "FanOut"
    result, elapsed = timed(lambda: Jitted()(inputs={"x": 1}))
    assert result == {"out": [2, 4, 6, 8]} and elapsed < 0.19
    instance = jit(FanOut())
    assert instance(inputs={"x": 0}) == {"out": [0, 2, 4, 6]}
    assert get_jit_stats(Jitted)["calls"] == 1


def test_structural_jit_strategies() -> None:
    @structural_jit(execution_strategy="sequential")
    class Serial(FanOut):
        pass

    result, elapsed = timed(lambda: Serial()(inputs={"x": 0}))
    assert result == {"out": [0, 2, 4, 6]} and elapsed >= 0.39

    @structural_jit(execution_strategy="auto", parallel_threshold=8)
    class Small(FanOut):
        pass

    first = timed(lambda: Small()(inputs={"x": 0}))[1]
    second = timed(lambda: Small()(inputs={"x": 0}))[1]
    assert first < 0.19, "the first call is parallel"
    assert second >= 0.39, "width 4 < threshold 8: later calls run sequentially"
    with pytest.raises(ConfigError, match="execution_strategy"):
        structural_jit(execution_strategy="fast")


def test_auto_strategy_returns_to_parallel_after_a_narrow_call() -> None:
    @structural_jit(execution_strategy="auto", parallel_threshold=3)
    def fan(n: int) -> list[int]:
        return [slow_double(i) for i in range(n)]

    assert timed(fan, 2)[1] < 0.19, "the first call is parallel"
    wide, elapsed = timed(fan, 6)  # after a width-2 graph: one op at a time
    assert wide == [0, 2, 4, 6, 8, 10] and elapsed >= 0.55
    for _ in range(2):  # api.md: the previous graph had width 6, so parallel again
        assert timed(fan, 6)[1] < 0.35
    assert get_jit_stats(fan)["max_parallelism"] == 6


def test_auto_strategy_measures_each_structure_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from ember.xcs.tracing.log import CallLog

    measured = []
    original = CallLog._measure

    def counting(log: CallLog) -> object:
        measured.append(len(log.entries))
        return original(log)

    monkeypatch.setattr(CallLog, "_measure", counting)

    @op
    def double(x: int) -> int:
        return 2 * x

    @structural_jit(execution_strategy="auto", parallel_threshold=2)
    def fan(n: int) -> list[int]:
        return [double(i) for i in range(n)]

    for _ in range(5):
        assert fan(3) == [0, 2, 4]
    assert measured == [3], "one measurement for five calls of one structure"
    assert fan(4) == [0, 2, 4, 6]
    assert measured == [3, 4], "a new structure is measured once more"
    with pytest.raises(ConfigError, match="parallel_threshold"):
        structural_jit(parallel_threshold=0)


@pytest.mark.parametrize(
    "config",
    [Presets.SERIAL, Presets.DEBUG, Presets.LIGHTWEIGHT, Presets.SECURE,
     Config(executor="sync")],
)
def test_every_preset_gives_plain_results(config: Config) -> None:
    assert jit(four, config=config)(2) == [4, 6, 8, 10]


def test_serial_preset_is_sequential() -> None:
    assert timed(jit(four, config=Presets.SERIAL), 0)[1] >= 0.39


def test_custom_executor() -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        result, elapsed = timed(jit(four, config=Config(executor=pool)), 1)
    assert result == [2, 4, 6, 8] and elapsed < 0.19


class KeepingExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor that keeps every future it made (as Dask keeps failed ones)."""

    def __init__(self) -> None:
        super().__init__(4)
        self.kept: list[concurrent.futures.Future[Any]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self.kept.append(future)
        return future


def test_an_executor_keeping_its_futures_keeps_no_engine_task() -> None:
    import gc

    from ember.xcs.engine.task import Task

    @op
    def fails_on_executor(x: int) -> int:
        raise ValueError(f"bad {x}")

    @op
    def works_on_executor(x: int) -> int:
        return x

    with KeepingExecutor() as pool:
        traced = jit(lambda: [works_on_executor(1), fails_on_executor(2)],
                     config=Config(executor=pool))
        with pytest.raises(ValueError, match="bad 2"):
            traced()
        gc.unfreeze()  # tests/conftest.py freezes earlier tests' objects: look at them all
        gc.collect()
        assert len(pool.kept) == 2
        assert not [o for o in gc.get_objects() if type(o) is Task
                    and o.name in ("fails_on_executor", "works_on_executor")]


def module_level_square(x: int) -> int:
    return x * x


def test_process_executor() -> None:
    square = op(module_level_square)
    fast = jit(lambda xs: [square(x) for x in xs], config=Config(executor="process"))
    assert fast([1, 2, 3]) == [1, 4, 9]


def test_with_config_shares_stats() -> None:
    fast = jit(four)
    slow = fast.with_config(parallel=False)
    slow(0)
    fast(0)
    assert get_jit_stats(fast)["calls"] == 2 and not slow.config.parallel


def test_functions_defined_in_main_and_in_notebook_cells() -> None:
    script = textwrap.dedent(
        """
        import time
        from ember.xcs import jit, op

        @op
        def wait(x):
            time.sleep(0.1)
            return x

        @jit
        def main_fn(n):
            return [wait(i) for i in range(n)]

        started = time.perf_counter()
        assert main_fn(6) == list(range(6))
        assert time.perf_counter() - started < 0.3

        cell = "def cell_fn(n):\\n    return [wait(i) * 2 for i in range(n)]\\n"
        namespace = {"wait": wait}
        exec(compile(cell, "<ipython-input-3>", "exec"), namespace)
        assert jit(namespace["cell_fn"])(4) == [0, 2, 4, 6]
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_generator_and_coroutine_functions_run_plainly() -> None:
    import asyncio

    @jit
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield slow_double(i)

    assert list(numbers(3)) == [0, 2, 4]

    @jit
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return slow_double(x)

    assert asyncio.run(fetch(5)) == 10


@pytest.fixture
def closed_connections() -> Any:
    closed: list[dict[str, bool]] = []
    yield closed
    assert closed == [{"open": False}]  # the jitted fixture below was torn down first


def _open_connection(closed_connections: list[dict[str, bool]]) -> Any:
    connection = {"open": slow_double(1) == 2}
    yield connection
    connection["open"] = False
    closed_connections.append(connection)


async def _stream(n: int) -> Any:
    for i in range(n):
        yield i


jitted_connection = pytest.fixture(jit(_open_connection), name="jitted_connection")


def test_a_jitted_generator_function_is_a_generator_function_to_inspect_and_pytest(
        jitted_connection: dict[str, bool]) -> None:
    import inspect

    assert jitted_connection == {"open": True}  # the yielded value, not the generator
    assert inspect.isgeneratorfunction(jit(_open_connection))
    assert inspect.isasyncgenfunction(jit(_stream))
    assert not inspect.isgeneratorfunction(jit(_stream))
    assert not inspect.isgeneratorfunction(jit(four))

    class Pool:
        @jit
        def connection(self) -> Any:
            yield from _open_connection([])

    assert inspect.isgeneratorfunction(Pool().connection)
    assert inspect.isgeneratorfunction(jit(Pool().connection.__wrapped__.__get__(Pool())))
    assert inspect.signature(jit(_stream)) == inspect.signature(_stream)


def test_attributes_of_the_jitted_callable_are_reachable_through_it() -> None:
    @jit
    @functools.lru_cache(maxsize=8)
    def answer(q: int) -> int:
        return slow_double(q)

    assert answer(1) == answer(1) == 2
    assert answer.cache_info() == functools._CacheInfo(1, 1, 8, 1)
    answer.cache_clear()
    assert answer.cache_info().currsize == 0
    assert answer.cache_parameters() == {"maxsize": 8, "typed": False}

    @jit
    @functools.singledispatch
    def describe(value: object) -> str:
        return "thing"

    describe.register(int, lambda value: "number")
    assert (describe(1), describe("a")) == ("number", "thing")

    class Agent:
        @jit
        @functools.cache
        def step(self, q: int) -> int:
            return slow_double(q)

    agent = Agent()
    assert agent.step(2) == agent.step(2) == 4 and agent.step.cache_info().hits == 1
    with pytest.raises(AttributeError, match="'JitFunction' object has no attribute 'nope'"):
        answer.nope  # noqa: B018
    with pytest.raises(AttributeError):
        answer._private  # noqa: B018


def test_calls_without_ops_reuse_traces_and_keep_nothing_of_their_arguments() -> None:
    import gc
    import threading
    import weakref

    class Secret:
        pass

    @op
    def slow_len(items: list[int]) -> int:
        time.sleep(0.01)
        return len(items)

    @jit
    def maybe(secret: Secret, items: list[int]) -> int:
        if not items:
            return -1  # no op: the call's trace is kept as a spare
        return slow_len(items) + 1

    assert maybe(Secret(), []) == -1
    assert maybe(Secret(), [1, 2]) == 3  # a spare trace may serve a call that issues ops
    secret = Secret()  # (the last call that issued ops is kept, arguments included, in
    alive = weakref.ref(secret)  # stats; calls that issued nothing keep nothing)
    assert maybe(secret, []) == -1
    del secret
    gc.collect()
    assert alive() is None, "a spare trace must not keep the last call's arguments"

    errors: list[str] = []

    def worker(offset: int) -> None:
        for i in range(200):
            items = [0] * ((i + offset) % 3)
            got = maybe(Secret(), items)
            if got != (len(items) + 1 if items else -1):
                errors.append(f"{items}: {got}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = get_jit_stats(maybe)
    assert stats["calls"] == 3 + 8 * 200 and stats["errors"] == 0
    assert len(maybe._spare_traces) <= 4


def test_sys_exit_in_the_glue_comes_after_the_ops_issued_before_it() -> None:
    """Plain Python ran every op before reaching sys.exit(): none may be left running
    (a script exiting there would lose their writes), and an op that failed first is
    what plain Python raised."""
    saved: list[int] = []

    @op
    def save(key: int) -> int:
        time.sleep(0.05)
        if key < 0:
            raise ValueError(f"cannot save {key}")
        saved.append(key)
        return key

    def main(keys: list[int]) -> None:
        for key in keys:
            save(key)
        sys.exit(3)

    async def amain(keys: list[int]) -> None:
        for key in keys:
            save(key)
        sys.exit(3)

    for fn in (jit(main), lambda keys: asyncio.run(jit(amain)(keys))):
        saved.clear()
        with pytest.raises(SystemExit) as exiting:
            fn([1, 2, 3])
        assert exiting.value.code == 3 and sorted(saved) == [1, 2, 3]
        with pytest.raises(ValueError, match="cannot save -1"):
            fn([1, -1])


def test_jit_over_staticmethod_and_classmethod_binds_as_they_do() -> None:
    from ember.xcs import get_jit_stats, jit, op

    @op
    def ask(question: str) -> str:
        return f"ans:{question}"

    class Agent:
        prefix = "agent"

        @jit
        @staticmethod
        def batch(questions: list[str]) -> list[str]:
            return [ask(q) for q in questions]

        @jit
        @classmethod
        def named(cls, question: str) -> str:
            return f"{cls.prefix}:{ask(question)}"

    class Child(Agent):
        prefix = "child"

    assert Agent.batch(["a"]) == Agent().batch(["a"]) == ["ans:a"]
    assert Agent.named("q") == Agent().named("q") == "agent:ans:q"
    assert Child().named("q") == "child:ans:q"
    assert get_jit_stats(Agent.batch)["calls"] == 2
    assert get_jit_stats(Agent.named)["calls"] == 3


@jit
def _shouted(text: str) -> str:
    return text.upper() + "!"


def test_a_jitted_function_pickles_like_a_function() -> None:
    import pickle

    assert pickle.loads(pickle.dumps(_shouted)) is _shouted  # by reference, as functions
    rebuilt = pickle.loads(pickle.dumps(jit(len)))  # no module holds it: rebuilt
    assert rebuilt is not None and rebuilt("abc") == 3

    def local(x: int) -> int:
        return x

    with pytest.raises((pickle.PicklingError, AttributeError), match="local"):
        pickle.dumps(jit(local))  # as for the plain local function


class _Account:
    def __init__(self) -> None:
        self.balance = 0


@op
def _deposit(account: _Account, amount: int) -> int:
    time.sleep(0.01)
    account.balance += amount
    return amount


def _transfer(account: _Account) -> tuple[int, int]:
    _deposit(account, 10)
    seen = account.balance
    _deposit(account, 5)
    return seen, account.balance


def test_a_jitted_function_keeps_its_own_config_when_another_jitted_function_calls_it(
) -> None:
    from ember.xcs import XCSTimeoutError

    serial = jit(_transfer, config=Config(parallel=False))
    assert jit(lambda a: serial(a))(_Account()) == _transfer(_Account()) == (10, 15)

    @op
    def slow() -> str:
        time.sleep(0.3)
        return "late"

    bounded = jit(lambda: slow(), config=Config(timeout=0.05))
    with pytest.raises(XCSTimeoutError):
        jit(lambda: bounded())()

    started: list[str] = []

    class Hook:
        def on_graph_start(self, name: str) -> None:
            started.append(name)

    hooked = jit(_transfer, config=Config(hooks=[Hook()]))
    jit(lambda a: hooked(a))(_Account())
    assert len(started) == 1


@op
def _draft(topic: str) -> str:
    return f"draft on {topic}"


def _polish(text: str) -> str:
    return _draft(text.upper())


_polish_serially = jit(_polish, config=Config(parallel=False))


def _write(topic: str) -> str:
    return _polish_serially(_draft(topic))


def test_explain_names_the_wait_for_a_nested_jitted_function_with_its_own_config() -> None:
    outer = jit(_write)
    assert outer("tides") == _write("tides") == "draft on DRAFT ON TIDES"
    report = str(outer.explain())  # the wait it costs, with the fix that applies
    assert "jitted call with its own Config: _polish" in report
    assert "jit it without a Config" in report and "@ember.xcs.pure" not in report


@pytest.mark.parametrize(("call", "message"), [
    (lambda f: jit(f, parallel=False),
     r"parallel=False is a setting: pass config=Config\(parallel=False\)"),
    (lambda f: jit(f, num_workers=4), r"pass config=Config\(max_workers=4\)"),
    (lambda f: jit(f, confg=Config()), r"'confg' is not one of its parameters \(did you mean "
                                       r"'config'\?\)"),
    (lambda f: jit(f, Config()), r"takes its Config as a keyword argument"),
    (lambda f: jit(f, 3), r"1 extra positional argument\(s\) \(3\)"),
    (lambda f: jit(max_workers=2)(f), r"pass config=Config\(max_workers=2\)"),
])
def test_a_setting_given_to_jit_directly_says_where_it_goes(call, message):
    def f(x):
        return x

    with pytest.raises(ConfigError, match=message):
        call(f)


def test_the_outer_timeout_bounds_a_nested_jitted_function_with_its_own_config() -> None:
    from ember.xcs import XCSTimeoutError

    @op
    def quick(x: int) -> int:
        return x

    @op
    def slow(x: int) -> int:
        time.sleep(1.0)
        return x

    helper = jit(lambda x: slow(x) + 1, config=Config(max_workers=4))

    @jit(config=Config(timeout=0.1))
    def handler(x: int) -> int:
        return helper(quick(x)) + 1

    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError):
        handler(1)
    assert time.perf_counter() - started < 0.6


@op
def shouted(text: str) -> str:
    return text.upper()


def test_defaults_changed_after_the_first_call_are_the_ones_used() -> None:
    def ask(q: str, style: str = "short", *, lang: str = "en") -> str:
        return shouted(f"[{style}/{lang}] {q}")

    class Asker:
        def ask(self, q: str, style: str = "short") -> str:
            return shouted(f"[{style}] {q}")

    fast, bound = jit(ask), jit(Asker().ask)
    assert fast("hi") == "[SHORT/EN] HI" and bound("hi") == "[SHORT] HI"
    ask.__defaults__ = ("long",)  # what a settings reload that rebinds defaults does
    ask.__kwdefaults__ = {"lang": "fr"}
    Asker.ask.__defaults__ = ("long",)
    assert fast("hi") == ask("hi") == "[LONG/FR] HI"
    assert bound("hi") == Asker().ask("hi") == "[LONG] HI"
    ask.__defaults__ = None
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'style'"):
        fast("hi")


def test_a_partial_or_callable_object_runs_its_code_as_it_is_now() -> None:
    def ask(q: str, style: str = "short") -> str:
        return shouted(f"[{style}] {q}")

    def ask_again(q: str, style: str = "again") -> str:
        return shouted(f"<{style}> {q}")

    class Agent:
        def __call__(self, q: str) -> str:
            return shouted(f"v1 {q}")

    def second(self: Agent, q: str) -> str:
        return shouted(f"v2 {q}")

    partial, agent = functools.partial(ask, "hi"), Agent()
    fast_partial, fast_agent = jit(partial), jit(agent)
    assert fast_partial() == "[SHORT] HI" and fast_agent("hi") == "V1 HI"
    ask.__defaults__ = ("long",)  # a settings reload
    Agent.__call__ = second  # type: ignore[method-assign]  # a patch, a reloaded class
    assert fast_partial() == partial() == "[LONG] HI"
    assert fast_agent("hi") == agent("hi") == "V2 HI"
    ask.__code__ = ask_again.__code__  # what a reloader (IPython autoreload) does
    ask.__defaults__ = None
    assert fast_partial("x") == partial("x") == "<X> HI"


@pytest.mark.parametrize(("make", "where"), [
    (lambda f: jit(f).with_config({"max_workers": 2}), r"with_config\(config=\.\.\.\)"),
    (lambda f: jit(f).with_config(3), r"with_config\(config=\.\.\.\)"),
    (lambda f: structural_jit(f, config=3), r"structural_jit\(config=\.\.\.\)"),
    (lambda f: structural_jit(f, config={"parallel": False}, max_workers=2),
     r"structural_jit\(config=\.\.\.\)"),
    (lambda f: JitFunction(f, "serial"), r"JitFunction\(fn, config\)"),
])
def test_a_config_that_is_not_a_config_is_refused_where_it_is_given(make, where):
    def f(x):
        return x

    with pytest.raises(ConfigError, match=where + " needs a Config, got"):
        make(f)


def test_a_class_whose_instances_are_not_callable_keeps_plain_meaning() -> None:
    class Doc:
        def __init__(self, text: str = "empty") -> None:
            self.text = text

    class Bare:
        pass

    class Speaker:
        def __call__(self, x: int) -> list[int]:
            return [slow_double(x), slow_double(x + 1)]

    class Muted(Speaker):
        __call__ = None  # type: ignore[assignment]

    for cls in (Doc, Bare, Muted):
        with pytest.raises(TypeError) as plain:
            cls()()
        assert "object is not callable" in str(plain.value)
        with pytest.raises(TypeError, match=f"^{re.escape(str(plain.value))}$"):
            jit(cls)()()
    assert jit(Doc)("hi").text == "hi"
    assert timed(jit(Speaker)(), 1)[0] == [2, 4]  # inherited or own __call__: jitted


def test_a_keyword_argument_named_self_or_fn_reaches_the_users_function() -> None:
    from ember.xcs import compare, explain

    class Agent:
        name = "ann"

    def greet(self: Agent, greeting: str = "hi") -> str:  # a helper written like a method
        return f"{greeting}, {shouted(self.name)}"

    @op
    def describe(self: Agent, detail: str = "short") -> str:
        return f"{self.name} ({detail})"

    def apply(fn: Any, x: int) -> int:
        return fn(x) + slow_double(0)

    agent = Agent()
    assert jit(greet)(self=agent, greeting="hello") == greet(self=agent, greeting="hello")
    assert describe(self=agent) == "ann (short)"  # outside jit
    assert jit(lambda: describe(self=agent, detail="long"))() == "ann (long)"
    assert "calls so far: 1" in explain(jit(greet), self=agent)
    assert "calls so far: 1" in jit(greet).explain(self=agent)
    assert compare(jit(apply), fn=abs, x=-3, repeat=1, warmup=0)["identical"] is True
