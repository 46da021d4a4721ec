"""Op policies: cache, version, retries and timeout on user ops, sync and async, under jit."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from ember.models import RetryPolicy
from ember.xcs import Config, ConfigError, XCSTimeoutError, jit, op, pmap, vmap
from ember.xcs.cache import MemoryStore, SQLiteStore, UncacheableError, counters, use
from ember.xcs.policies import retry_policy

FAST = RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0)


class Flaky:
    """Fails the first ``failures`` calls, then returns its argument doubled."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, x: int) -> int:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise self.error(f"transient failure {self.calls}")
        return 2 * x


# -- retries ----------------------------------------------------------------------


def test_retries_recover_from_transient_failures() -> None:
    body = Flaky(2)
    flaky = op(body, name="flaky", retries=FAST)
    assert flaky(4) == 8 and body.calls == 3


def test_retries_give_up_with_the_original_error_and_a_note() -> None:
    body = Flaky(10)
    flaky = op(body, name="flaky", retries=FAST)
    with pytest.raises(ConnectionError, match="transient failure 3") as caught:
        flaky(1)
    assert body.calls == 3
    assert any("gave up after 3 attempts" in note for note in caught.value.__notes__)


def test_retries_as_an_int_means_extra_attempts() -> None:
    assert retry_policy(2).max_attempts == 3
    assert retry_policy(0) is None and retry_policy(None) is None
    assert retry_policy(FAST) is FAST


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_retries_are_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"op\(retries=...\) must be a number of extra"):
        op(lambda x: x, retries=bad)


def test_retries_under_jit_run_inside_the_node() -> None:
    bodies = [Flaky(1) for _ in range(4)]
    ops = [op(body, name=f"flaky{i}", retries=FAST) for i, body in enumerate(bodies)]

    @jit
    def fan_out(x):
        return [each(x) for each in ops]

    assert fan_out(5) == [10] * 4
    assert [body.calls for body in bodies] == [2] * 4


# -- timeout ----------------------------------------------------------------------


def test_timeout_fails_a_slow_sync_body_promptly() -> None:
    @op(timeout=0.1)
    def slow(x):
        time.sleep(1.0)
        return x

    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError, match=r"op slow did not finish within timeout=0.1 s"):
        slow(1)
    assert time.perf_counter() - started < 0.6


def test_timeout_lets_a_fast_body_through_and_keeps_its_errors() -> None:
    @op(timeout=2)
    def fine(x):
        if x < 0:
            raise ValueError("negative")
        return x + 1

    assert fine(1) == 2
    with pytest.raises(ValueError, match="negative"):
        fine(-1)


def test_timeout_cancels_a_coroutine_body() -> None:
    cancelled = threading.Event()

    @op(timeout=0.1)
    async def slow(x):
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return x

    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError):
        jit(lambda: slow(1))()
    assert time.perf_counter() - started < 1.0
    assert cancelled.wait(2)


def test_timed_out_attempts_are_retried() -> None:
    attempts = []

    @op(timeout=0.1, retries=RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0))
    def sometimes_slow(x):
        attempts.append(x)
        if len(attempts) < 3:
            time.sleep(0.5)
        return x

    assert sometimes_slow(7) == 7 and len(attempts) == 3


@pytest.mark.parametrize("error", [ConfigError("bad setting"), UncacheableError("no key")])
def test_retries_do_not_retry_xcs_configuration_errors(error: Exception) -> None:
    attempts = []

    @op(retries=FAST)
    def build(settings):
        attempts.append(settings)
        raise error

    with pytest.raises(type(error)):
        build({"max_worker": 4})
    assert len(attempts) == 1  # a wrong setting stays wrong (docs/caching.md)


class DBTimeout(TimeoutError):
    """A timeout of the body's own (a lock wait, a socket), not the op's."""


def test_a_coroutine_bodys_own_timeout_error_is_raised_unchanged() -> None:
    async def query(x):
        await asyncio.sleep(0.01)
        raise DBTimeout(f"db lock wait {x}")

    timed = op(query, timeout=5)

    async def plain(q, x):
        return await q(x)

    for label, run in [("plain", lambda: asyncio.run(plain(query, 1))),
                       ("op", lambda: asyncio.run(plain(timed, 1))),
                       ("jit async", lambda: asyncio.run(jit(plain)(timed, 1))),
                       ("jit", lambda: jit(lambda x: timed(x))(1))]:
        started = time.perf_counter()
        with pytest.raises(DBTimeout) as raised:
            run()
        assert type(raised.value) is DBTimeout and str(raised.value) == "db lock wait 1", label
        assert time.perf_counter() - started < 2, label


def test_retries_treat_a_coroutine_bodys_own_timeout_error_as_its_error() -> None:
    attempts = []

    @op(timeout=5, retries=RetryPolicy(max_attempts=2, initial_delay=0.01, jitter=0))
    async def query(x):
        attempts.append(x)
        await asyncio.sleep(0.01)
        raise DBTimeout(f"db lock wait {x}")

    with pytest.raises(DBTimeout) as raised:
        jit(lambda: query(3))()
    assert str(raised.value) == "db lock wait 3"
    assert attempts == [3, 3]


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "1"])
def test_bad_timeouts_are_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^op\(timeout=...\)"):
        op(lambda x: x, timeout=bad)


def test_async_retries_with_the_async_twin() -> None:
    sync_calls, async_calls = [], []

    def fetch(x):
        sync_calls.append(x)
        return x * 10

    async def fetch_async(x):
        async_calls.append(x)
        if len(async_calls) == 1:
            raise ConnectionError("first async attempt fails")
        return x * 10

    fetch_op = op(fetch, async_fn=fetch_async, retries=FAST)
    assert jit(lambda: [fetch_op(1), fetch_op(2)])() == [10, 20]
    assert not sync_calls and len(async_calls) == 3
    assert fetch_op(3) == 30 and sync_calls == [3]  # outside a trace: the sync body


class Busy(Exception):
    """A server's "try again later": asks for a 300 ms pause before the retry."""

    headers = {"retry-after-ms": "300"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_retry_waits_as_long_as_the_server_asks_sync_and_async_alike(kind: str) -> None:
    attempts: list[float] = []
    policy = RetryPolicy(max_attempts=2, initial_delay=0.001, jitter=0)

    def check() -> str:
        attempts.append(time.perf_counter())
        if len(attempts) == 1:
            raise Busy("busy")
        return "ok"

    async def acheck() -> str:
        return check()

    call = op(check if kind == "sync" else acheck, retries=policy)
    assert jit(lambda: call())() == "ok"
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.29  # the header's wait, not the 1 ms backoff


def test_async_retries_that_give_up_say_so_in_a_note() -> None:
    @op(retries=FAST)
    async def down() -> str:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError) as caught:
        jit(lambda: down())()
    assert caught.value.__notes__[0] == (
        f"op {down.name}: gave up after 3 attempts (RetryPolicy(max_attempts=3)).")


# -- cache ------------------------------------------------------------------------


def test_cache_true_uses_the_default_store(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("EMBER_XCS_CACHE", str(tmp_path / "default.sqlite"))
    calls = []

    @op(cache=True)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]
    assert SQLiteStore(tmp_path / "default.sqlite").summary().entries == 2


def test_config_result_cache_under_jit_and_plain_share_results(tmp_path: Path) -> None:
    calls = []

    @op(cache=True)
    def score(text):
        calls.append(text)
        return len(text)

    path = tmp_path / "r.sqlite"
    fast = jit(lambda texts: [score(t) for t in texts], config=Config(result_cache=path))
    assert fast(["a", "bb", "ccc"]) == [1, 2, 3]
    assert fast(["a", "bb", "dddd"]) == [1, 2, 4]
    assert sorted(calls) == ["a", "bb", "ccc", "dddd"]
    with use(path):  # plain code finds what the jitted calls stored
        assert score("ccc") == 3
    assert len(calls) == 4


def test_cache_none_follows_the_active_cache_only(tmp_path: Path) -> None:
    calls = []

    @op(cache=None, version="1")
    def model_like(prompt):
        calls.append(prompt)
        return prompt.upper()

    assert model_like("a") == "A" and model_like("a") == "A"
    assert calls == ["a", "a"]  # no active cache: not cached
    store = MemoryStore()
    cached = jit(lambda p: model_like(p), config=Config(result_cache=store))
    assert cached("b") == "B" and cached("b") == "B"
    assert calls == ["a", "a", "b"]


def test_cache_false_is_never_cached_even_with_a_result_cache() -> None:
    calls = []

    @op
    def plain(x):
        calls.append(x)
        return x

    f = jit(lambda x: plain(x), config=Config(result_cache=MemoryStore()))
    f(1)
    f(1)
    assert calls == [1, 1]


def test_explicit_store_wins_over_the_config(tmp_path: Path) -> None:
    own = MemoryStore()

    @op(cache=own)
    def ident(x):
        return x

    other = MemoryStore()
    jit(lambda: ident(5), config=Config(result_cache=other))()
    assert own.summary().entries == 1 and other.summary().entries == 0


def test_version_pins_the_identity_and_changing_it_misses() -> None:
    store = MemoryStore()
    calls = []

    def body(x):
        calls.append(x)
        return x

    first = op(body, name="b", cache=store, version="1")
    again = op(body, name="b", cache=store, version="1")
    bumped = op(body, name="b", cache=store, version="2")
    first(1)
    again(1)
    bumped(1)
    assert calls == [1, 1]


def test_exceptions_are_not_cached() -> None:
    store = MemoryStore()
    body = Flaky(1, ValueError)
    flaky = op(body, name="flaky", cache=store, version="1")
    with pytest.raises(ValueError):
        flaky(2)
    assert flaky(2) == 4 and flaky(2) == 4
    assert body.calls == 2


def test_a_cache_hit_returns_an_equal_copy() -> None:
    @op(cache=MemoryStore())
    def make(x):
        return {"items": [x]}

    first = make(1)
    first["items"].append("mutated by the caller")
    assert make(1) == {"items": [1]}


def test_unpicklable_results_are_returned_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    @op(cache=MemoryStore(), name="make_lock")
    def make_lock(x):
        calls.append(x)
        return threading.Lock()

    before = counters()["by_op"].get("make_lock", {}).get("unstorable", 0)
    assert make_lock(1) is not None and make_lock(1) is not None
    assert calls == [1, 1]
    assert counters()["by_op"]["make_lock"]["unstorable"] == before + 2
    assert "cannot be stored" in caplog.text


def test_uncacheable_arguments_fail_loudly() -> None:
    @op(cache=MemoryStore())
    def use_client(client):
        return 1

    with pytest.raises(UncacheableError, match="cannot be part of a result-cache key"):
        use_client(object())


def test_counters_count_hits_and_misses() -> None:
    @op(cache=MemoryStore(), name="counted_op")
    def counted(x):
        return x

    for x in (1, 1, 2, 1):
        counted(x)
    assert counters()["by_op"]["counted_op"] == {"hits": 2, "misses": 2, "writes": 2,
                                                  "unstorable": 0}


def test_cache_under_vmap_and_pmap() -> None:
    store = MemoryStore()
    calls = []
    lock = threading.Lock()

    @op(cache=True)
    def work(x):
        with lock:
            calls.append(x)
        return x + 100

    config = Config(result_cache=store)
    assert vmap(work, config=config)([1, 2, 3]) == [101, 102, 103]
    assert pmap(work, config=config)([1, 2, 3, 4]) == [101, 102, 103, 104]
    assert sorted(calls) == [1, 2, 3, 4]


def test_coroutine_ops_are_cached() -> None:
    calls = []

    @op(cache=MemoryStore())
    async def fetch(x):
        calls.append(x)
        await asyncio.sleep(0)
        return x * 3

    assert asyncio.run(fetch(2)) == 6  # outside a trace an async op stays a coroutine
    assert jit(lambda: [fetch(2), fetch(5)])() == [6, 15]
    assert calls == [2, 5]


def test_method_ops_key_on_the_instance() -> None:
    class Scorer:
        def __init__(self, weight):
            self.weight = weight
            self.calls = 0

        def __xcs_cache_key__(self):
            return self.weight

        @op(cache=MemoryStore())
        def score(self, x):
            self.calls += 1
            return x * self.weight

    double, triple = Scorer(2), Scorer(3)
    assert double.score(5) == 10 and triple.score(5) == 15 and double.score(5) == 10
    assert double.calls == 1 and triple.calls == 1


def test_policy_ops_pickle_for_process_executors(tmp_path: Path) -> None:
    wrapped = op(_module_level_square, cache=tmp_path / "p.sqlite", retries=1, timeout=5)
    copy = pickle.loads(pickle.dumps(wrapped))
    assert copy(4) == 16 and wrapped(4) == 16


def _module_level_square(x: int) -> int:
    return x * x


# -- refusals ---------------------------------------------------------------------


def test_effect_ops_cannot_be_cached() -> None:
    with pytest.raises(ConfigError, match="cannot be used with effect=True"):
        op(lambda x: x, effect=True, cache=True)


def test_version_without_cache_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"op\(version=...\) only names the cached results"):
        op(lambda x: x, version="1")
    with pytest.raises(ConfigError, match="non-empty str"):
        op(lambda x: x, cache=True, version="")


def test_bad_cache_values() -> None:
    with pytest.raises(ConfigError, match=r"op\(cache=...\) must be None, a file path or a"):
        op(lambda x: x, cache=3)


def test_callable_objects_need_a_version() -> None:
    class Runner:
        def __call__(self, x):
            return x

    with pytest.raises(UncacheableError, match="version="):
        op(Runner(), cache=True)
    assert op(Runner(), cache=MemoryStore(), version="1")(3) == 3


def test_secure_refuses_a_persistent_result_cache(tmp_path: Path) -> None:
    from ember.xcs import Presets

    with pytest.raises(ConfigError, match="Presets.SECURE.*allow_persistent_cache=True"):
        Presets.SECURE.replace(result_cache=tmp_path / "r.sqlite")
    allowed = Presets.SECURE.replace(result_cache=tmp_path / "r.sqlite",
                                     allow_persistent_cache=True)
    assert allowed.redact and allowed.result_cache == tmp_path / "r.sqlite"
    assert Presets.SECURE.replace(result_cache=MemoryStore()).redact  # memory is fine


def test_secure_refuses_an_op_that_would_write_to_disk(tmp_path: Path) -> None:
    from ember.xcs import Presets

    @op(cache=tmp_path / "own.sqlite")
    def leaky(x):
        return x

    with pytest.raises(ConfigError, match="redact=True"):
        jit(lambda: leaky(1), config=Presets.SECURE)()
    assert jit(lambda: leaky(2), config=Presets.SECURE.replace(
        allow_persistent_cache=True))() == 2
    assert leaky(3) == 3  # outside a SECURE call the op caches as usual


class _ModelLikeBody:
    """Shaped like a model op's body: sync __call__, async acall, a declared identity."""

    def __init__(self, model):
        self.model = model
        self.sync_calls = 0
        self.async_calls = 0

    @property
    def __xcs_cache_identity__(self):
        return f"model:test/{self.model}"

    def __call__(self, prompt, **params):
        self.sync_calls += 1
        return f"{self.model} says {prompt} at {params.get('temperature')}"

    async def acall(self, prompt, **params):
        self.async_calls += 1
        await asyncio.sleep(0)
        return f"{self.model} says {prompt} at {params.get('temperature')}"


def test_model_call_bodies_follow_the_active_cache_on_both_paths():
    """How ember.models plugs in: Op(body, cache=None, async_fn=body.acall)."""
    from ember.xcs import Op

    body = _ModelLikeBody("m1")
    model_op = Op(body, name="llm[m1]", cache=None, async_fn=body.acall)
    other = Op(_ModelLikeBody("m2"), name="llm[m2]", cache=None)
    assert model_op("hi", temperature=0) == "m1 says hi at 0"  # no active cache: not cached
    assert model_op("hi", temperature=0) == "m1 says hi at 0"
    assert body.sync_calls == 2
    store = MemoryStore()
    config = Config(result_cache=store)
    jitted = jit(lambda p: [model_op(p, temperature=0), model_op(p, temperature=0.7)],
                 config=config)
    assert jitted("hi") == ["m1 says hi at 0", "m1 says hi at 0.7"]
    assert body.async_calls == 2  # under jit: the async twin, then stored
    with use(store):  # plain calls find what the jitted call stored (same key)
        assert model_op("hi", temperature=0.7) == "m1 says hi at 0.7"
        assert other("hi", temperature=0.7) == "m2 says hi at 0.7"  # another model: a miss
    assert body.sync_calls == 2 and store.summary().entries == 3


def test_policy_ops_never_run_inline_so_a_miss_after_many_hits_stays_parallel():
    store = MemoryStore()

    @op(cache=store)
    def fetch(x):
        if x >= 100:
            time.sleep(0.3)  # a miss that is a real call
        return x

    warm = jit(lambda xs: [fetch(x) for x in xs])
    warm(list(range(40)))
    warm(list(range(40)))  # 40 hits of a few microseconds each
    assert not fetch.runs_inline

    @jit
    def two_misses():
        return [fetch(100), fetch(101)]

    started = time.perf_counter()
    assert two_misses() == [100, 101]
    assert time.perf_counter() - started < 0.5  # both at once, not 0.6 s


def _record_and_square(x: int, log: str) -> int:
    with open(log, "a") as out:
        out.write(f"{x} {os.getpid()}\n")
    return x * x


def test_cache_named_on_the_op_works_in_process_workers(tmp_path: Path) -> None:
    # The configured cache is a setting of the calling thread; a store named on the op
    # travels with the op to other processes (pmap with executor="process").
    log = str(tmp_path / "calls.log")
    square = op(_record_and_square, cache=tmp_path / "shared.sqlite", version="1")
    run = pmap(square, in_axes=(0, None), config=Config(executor="process"))
    assert run([1, 2, 3], log) == [1, 4, 9]
    assert run([1, 2, 3, 4], log) == [1, 4, 9, 16]
    calls = [line.split() for line in Path(log).read_text().splitlines()]
    assert sorted(x for x, _ in calls) == ["1", "2", "3", "4"]  # each item paid once
    assert all(int(pid) != os.getpid() for _, pid in calls)  # in worker processes
    assert SQLiteStore(tmp_path / "shared.sqlite").summary().entries == 4


PROCESS_WORKERS = '''
import json, os, sys
from ember.xcs import Config, jit, op
from ember.xcs.cache import SQLiteStore
import steps

first, second, log, named_store = sys.argv[1:5]
paid = op(steps.paid, cache=True, version="1")
modelled = op(steps.paid, name="modelled", cache=None, version="1")

@op(cache=named_store, version="1")  # the decorator form: the script's name is the op
def named(x):
    with open(named_store + ".log", "a") as out:
        out.write(f"{x}\\n")
    return x * 3

def batch(xs):
    return [paid(x, log) for x in xs] + [modelled(x, log) for x in xs]

# The pool's workers are forked during the first call, while its store is active here.
results = [jit(batch, config=Config(executor="process", result_cache=first))([1, 2]),
           jit(batch, config=Config(executor="process", result_cache=second))([1, 2]),
           jit(batch, config=Config(executor="process"))([1, 2])]
triple = jit(lambda xs: [named(x) for x in xs], config=Config(executor="process"))
results += [triple([1, 2]), triple([1, 2, 3])]
print(json.dumps({"results": results, "caller": os.getpid(),
                  "first": SQLiteStore(first).summary().entries,
                  "second": SQLiteStore(second).summary().entries}))
'''


def test_process_workers_never_use_a_store_they_inherited(tmp_path: Path) -> None:
    """A forked worker holds a copy of the caller's settings from when it was forked;
    it must not keep writing later calls (with another store, or none) into that store.
    ``cache=True``/``cache=None`` ops run uncached in process workers; a store named on
    the op is used there (docs/caching.md)."""
    (tmp_path / "steps.py").write_text(
        "import os\n"
        "def paid(x, log):\n"
        "    with open(log, 'a') as out:\n"
        "        out.write(f'{x} {os.getpid()}\\n')\n"
        "    return x * x\n")
    script = tmp_path / "main.py"
    script.write_text(PROCESS_WORKERS)
    log = tmp_path / "calls.log"
    env = {**os.environ, "EMBER_XCS_CACHE": str(tmp_path / "default.sqlite")}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "first.sqlite"),
         str(tmp_path / "second.sqlite"), str(log), str(tmp_path / "named.sqlite")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["results"] == [[1, 4, 1, 4]] * 3 + [[3, 6], [3, 6, 9]]
    # A store named on the op works in the workers, for the decorator form too.
    assert sorted((tmp_path / "named.sqlite.log").read_text().split()) == ["1", "2", "3"]
    assert SQLiteStore(tmp_path / "named.sqlite").summary().entries == 3
    assert report["first"] == report["second"] == 0
    assert not (tmp_path / "default.sqlite").exists()
    pids = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert len(pids) == 12 and report["caller"] not in pids  # every call ran every body
    # cache=True asked for a cache the worker cannot reach: said once per op and worker.
    warnings = done.stderr.count("op paid (cache=True) runs in a worker process")
    assert 1 <= warnings <= len(set(pids)), done.stderr[-3000:]
    assert "modelled" not in done.stderr


class _Pause:
    """An awaitable that suspends once, then gives 7 (no event loop needed)."""

    def __await__(self):  # type: ignore[no-untyped-def]
        yield
        return 7


def _frames(chain: Any) -> int:
    """How many coroutines ``chain`` (suspended) awaits through, itself included."""
    frames = 0
    while isinstance(chain, types.CoroutineType):
        frames += 1
        chain = chain.cr_await
    return frames


def test_a_cache_only_coroutine_layer_adds_one_frame_and_keeps_errors() -> None:
    async def body(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x + await _Pause()

    wrapped = op(body, cache=None)  # what model calls use: cached only when asked
    chain = wrapped.fn(1)
    chain.send(None)  # suspended inside the body
    # No cache in use: the shippable forwarder awaits the body itself (no policy loop).
    assert _frames(chain) == 2
    with pytest.raises(StopIteration) as finished:
        chain.send(None)
    assert finished.value.value == 8
    with use(MemoryStore()):  # a cache in use: the forwarder, the policy loop, the body
        cached = wrapped.fn(3)
        cached.send(None)
        assert _frames(cached) == 3
        with pytest.raises(StopIteration) as finished:
            cached.send(None)
        assert finished.value.value == 10
    with pytest.raises(ValueError, match="negative") as caught:
        asyncio.run(wrapped(-1))
    assert not getattr(caught.value, "__notes__", None)
    with use(MemoryStore()):
        assert asyncio.run(wrapped(2)) == asyncio.run(wrapped(2)) == 9


def test_two_calls_of_one_cached_key_under_jit_run_the_body_once() -> None:
    import threading

    from ember.xcs import jit

    paid: list[str] = []
    lock = threading.Lock()

    @op(cache=True, version="1")
    def summarise(text: str) -> str:
        with lock:
            paid.append(text)
        time.sleep(0.05)
        return text.upper()

    def twice(text: str) -> list[str]:
        return [summarise(text), summarise(text)]  # plain: the second call is a hit

    @op(cache=True, version="1")
    async def asummarise(text: str) -> str:
        with lock:
            paid.append(f"async {text}")
        await asyncio.sleep(0.05)
        return text.upper()

    def twice_async(text: str) -> list[str]:
        return [asummarise(text), asummarise(text)]

    with use(MemoryStore()):
        assert jit(twice)("same") == ["SAME", "SAME"]
        assert twice("plain") == ["PLAIN", "PLAIN"]
        assert jit(twice_async)("x") == ["X", "X"]
    assert paid == ["same", "plain", "async x"]  # each key's body ran once


def test_a_call_following_a_running_call_of_its_key_gets_its_own_object() -> None:
    """As plain Python's second call, a cache hit: its own copy, never the first call's
    object; a result the store cannot keep is computed again, as plain does."""
    import threading

    from ember.xcs import jit

    paid: list[str] = []

    @op(cache=True, version="1")
    def card(text: str) -> dict[str, Any]:
        paid.append(text)
        time.sleep(0.05)
        return {"text": text, "tags": []}

    @op(cache=True, version="1")
    def handle(text: str) -> Any:
        paid.append(text)
        time.sleep(0.05)
        return threading.Lock()  # cannot be pickled: not stored

    def two_cards(text: str) -> Any:
        first, second = card(text), card(text)
        first["tags"].append(text)  # changes the first result only
        return first is second, second

    def two_handles(text: str) -> Any:
        first, second = handle(text), handle(text)
        return first is second

    with use(MemoryStore()):
        assert two_cards("a") == (False, {"text": "a", "tags": []})
    with use(MemoryStore()):
        assert jit(two_cards)("a") == (False, {"text": "a", "tags": []})
    paid.clear()
    with use(MemoryStore()):
        assert two_handles("h") is False
        assert jit(two_handles)("h") is False
    assert paid == ["h", "h", "h", "h"]  # plain and jit each ran the body twice


def test_body_is_the_plain_function_and_the_faq_recipe_catches_at_once() -> None:
    calls: list[str] = []

    def lookup(topic: str) -> str:
        calls.append(topic)
        raise KeyError(topic)

    fetch = op(lookup, retries=2, cache=MemoryStore(), timeout=5)
    assert fetch.body is lookup and fetch.fn is not lookup

    @op
    def fetch_or_none(topic: str) -> str | None:  # docs/faq.md: catch inside the op
        try:
            return fetch.body(topic)  # type: ignore[no-any-return]
        except KeyError:
            return None

    started = time.perf_counter()
    assert jit(lambda: [fetch_or_none(t) for t in ("sun", "sun")])() == [None, None]
    assert calls == ["sun", "sun"]  # once per call: no retries, no cache, no backoff
    assert time.perf_counter() - started < 1.0


def test_body_of_async_and_method_ops() -> None:
    async def answer(x: int) -> int:
        return x

    assert op(answer, retries=1).body is answer
    assert op(answer).body is answer

    class Tool:
        @op(timeout=5)
        def run(self, x: int) -> int:
            return x + 1

    tool = Tool()
    bound = tool.run.body
    assert isinstance(bound, types.MethodType) and bound.__self__ is tool
    assert bound(1) == 2 and bound.__func__ is Tool.__dict__["run"].body
