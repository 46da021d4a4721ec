"""One Ctrl-C stops a call; timeouts free what they held; nothing of a call is kept (issue 10)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import pytest

from ember.xcs import Config, Presets, XCSTimeoutError, jit, op

FAN_OUT = """
import signal, sys, time
from ember.xcs import Config, jit, op

# A child started from a shell job (CI) may inherit SIGINT as ignored; Ctrl-C must work.
signal.signal(signal.SIGINT, signal.default_int_handler)
log = open(sys.argv[1], "a", buffering=1)

@op
def work(i):
    log.write(f"{time.time()}\\n")
    {body}
    return i

@jit(config=Config(max_workers=4))
def fan_out():
    return [work(i) for i in range(64)]

print("ready", flush=True)
fan_out()
"""


def _interrupt(body: str, tmp_path: Path) -> tuple[float, list[float], float]:
    """Run the fan-out in a child, SIGINT it 1 s in; (exit delay, op start times, sigint)."""
    script = tmp_path / "fan_out.py"
    script.write_text(FAN_OUT.replace("{body}", body))
    starts = tmp_path / "starts.txt"
    starts.write_text("")
    child = _sigint_one_second_in([str(script), str(starts)])
    assert "KeyboardInterrupt" in child.stderr, child.stderr[-2000:]
    times = [float(line) for line in starts.read_text().split()]
    return child.exited - child.sent, times, child.sent


@dataclass
class _Interrupted:
    sent: float  # time.time() of the SIGINT
    exited: float  # time.time() once the child had exited
    returncode: int
    stdout: str
    stderr: str


def _sigint_one_second_in(arguments: list[str]) -> _Interrupted:
    """Run ``python *arguments``; once it prints ``ready``, wait 1 s and send SIGINT."""
    child = subprocess.Popen([sys.executable, *arguments], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=20)
        exited = time.time()
    finally:
        if child.poll() is None:
            child.kill()
    return _Interrupted(sent, exited, child.returncode, stdout, stderr)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process needs POSIX")
def test_one_sigint_stops_a_fan_out_at_once(tmp_path: Path) -> None:
    delay, starts, sent = _interrupt("time.sleep(2)", tmp_path)
    assert delay < 1.0, f"exited {delay:.2f} s after SIGINT"
    assert sum(1 for t in starts if t > sent) <= 4, "at most max_workers ops start after it"
    assert len(starts) < 64


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process needs POSIX")
def test_one_sigint_stops_a_call_whose_op_never_returns(tmp_path: Path) -> None:
    delay, _, _ = _interrupt("import threading; threading.Event().wait()", tmp_path)
    assert delay < 1.0, f"exited {delay:.2f} s after SIGINT"


COROUTINE_FAN_OUT = """
import asyncio, json, signal, sys, time
from ember.xcs import Config, jit, op

signal.signal(signal.SIGINT, signal.default_int_handler)
events = []  # (event, op index): list.append is atomic, the loop thread may write

@op
async def work(i):
    events.append(("start", i))
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        events.append(("cancelled", i))
        raise
    events.append(("finished", i))
    return i

@jit(config=Config(max_workers=4))
def fan_out():
    return [work(i) for i in range(16)]

print("ready", flush=True)
try:
    fan_out()
except KeyboardInterrupt:
    caught = time.time()
    deadline = time.monotonic() + 5  # give the engine's loop time to deliver cancellations
    while time.monotonic() < deadline:
        started = sum(1 for event, _ in events if event == "start")
        if sum(1 for event, _ in events if event == "cancelled") >= started:
            break
        time.sleep(0.01)
    time.sleep(0.2)  # nothing may start after the cancellations either
    print(json.dumps({"caught": caught, "events": events}), flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process needs POSIX")
def test_one_sigint_cancels_running_coroutine_ops_and_starts_no_queued_one(
    tmp_path: Path,
) -> None:
    script = tmp_path / "coroutines.py"
    script.write_text(COROUTINE_FAN_OUT)
    child = _sigint_one_second_in([str(script)])
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["caught"] - child.sent < 1.0, "KeyboardInterrupt reached the caller late"
    events = [tuple(event) for event in report["events"]]
    started = {i for event, i in events if event == "start"}
    cancelled = {i for event, i in events if event == "cancelled"}
    assert 1 <= len(started) <= 4, events  # max_workers=4: the other 12 were queued
    assert cancelled == started, events  # every running coroutine op was cancelled
    assert not [i for event, i in events if event == "finished"], events


def test_a_timed_out_call_frees_its_concurrency_slot() -> None:
    release = [False]

    @op(max_concurrency=1, limit_key="hung-provider")
    def hung(x: int) -> int:
        while not release[0]:
            time.sleep(0.01)
        return x

    @op(max_concurrency=1, limit_key="hung-provider")
    def quick(x: int) -> int:
        return x + 1

    stuck = jit(lambda: hung(1), config=Config(timeout=0.2))
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(XCSTimeoutError, match=r"still running: hung\."):
            stuck()
        assert time.perf_counter() - started < 1.0
    # The hung bodies still run, but they no longer hold the provider's only slot.
    assert jit(lambda: quick(1), config=Config(timeout=2))() == 2
    release[0] = True


class Secret:
    """A value that must not outlive the call that used it."""

    def __init__(self, text: str) -> None:
        self.text = text


RESULTS: list[weakref.ref[Secret]] = []


@op
def echo(secret: Secret) -> Secret:
    result = Secret(secret.text + "!")
    RESULTS.append(weakref.ref(result))
    time.sleep(0.01)  # a real hop to a pool thread
    return result


def test_secure_calls_keep_no_argument_or_result() -> None:
    secure = jit(lambda s: echo(s).text, config=Presets.SECURE)
    secret = Secret("hunter2")
    argument = weakref.ref(secret)
    RESULTS.clear()
    assert secure(secret) == "hunter2!"
    del secret
    gc.collect()
    assert argument() is None, "the argument is still referenced after the call"
    assert RESULTS and RESULTS[0]() is None, "the op's result is still referenced"


def test_no_engine_task_outlives_its_call() -> None:
    from ember.xcs.engine.task import Task

    fan = jit(lambda n: [echo(Secret(str(i))).text for i in range(n)])
    assert fan(50) == [f"{i}!" for i in range(50)]
    gc.unfreeze()  # tests/conftest.py freezes earlier tests' objects: look at them all
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Task]


def _collected(reference: weakref.ref[Secret], seconds: float = 3.0) -> bool:
    """Whether ``reference`` died, collecting garbage while cancellations land."""
    deadline = time.monotonic() + seconds
    while True:
        gc.collect()
        if reference() is None:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def test_a_timeout_frees_the_arguments_of_the_ops_it_abandoned() -> None:
    release = threading.Event()

    @op
    def hung(secret: Secret) -> str:
        release.wait(30)
        return secret.text

    @op
    async def waiting(secret: Secret) -> str:
        await asyncio.sleep(30)  # running on the loop when the timeout comes: cancelled
        return secret.text

    @op
    def queued(secret: Secret) -> str:
        return secret.text  # never starts: both slots of max_workers=2 are taken

    # SECURE: otherwise the stats keep the last call's arguments on purpose (explain
    # shows them); what is checked here is that nothing in the engine holds them.
    call = jit(lambda a, b, c: [hung(a), waiting(b), queued(c)],
               config=Presets.SECURE.replace(timeout=0.3, max_workers=2))
    running, cancelled, never_started = Secret("a"), Secret("b"), Secret("c")
    refs = [weakref.ref(s) for s in (running, cancelled, never_started)]
    try:
        call(running, cancelled, never_started)
    except XCSTimeoutError as error:
        message = str(error)
    else:
        raise AssertionError("the call should have timed out")
    assert "timeout=0.3" in message
    del running, cancelled, never_started
    try:
        assert _collected(refs[2]), "the queued op's argument is still referenced"
        assert _collected(refs[1]), "the cancelled coroutine op's argument is still referenced"
        assert refs[0]() is not None  # the thread body still runs, with its argument
    finally:
        release.set()
    assert _collected(refs[0]), "the abandoned body ended, yet its argument is still held"


def test_a_timeout_names_a_node_running_32_times_once() -> None:
    release = threading.Event()

    @op
    def stuck_on_provider(i: int) -> int:
        release.wait(30)
        return i

    call = jit(lambda: [stuck_on_provider(i) for i in range(32)], config=Config(timeout=0.3))
    try:
        with pytest.raises(XCSTimeoutError) as caught:
            call()
    finally:
        release.set()
    message = str(caught.value)
    assert message.count("stuck_on_provider") == 1, message
    assert "still running: stuck_on_provider" in message and len(message) < 400


def test_a_timeout_ends_the_call_even_where_the_function_catches_timeout_error() -> None:
    release = threading.Event()

    @op
    def hangs(key: str) -> str:
        release.wait(30)
        return key

    def literal_fallback(key: str) -> str:
        try:
            return hangs(key)  # in a try block: the glue waits for it here
        except TimeoutError:
            return "fallback"

    def computed_fallback(key: str) -> str:
        try:
            return hangs(key)
        except TimeoutError:
            return "fallback"  # the same meaning, with a call in it

    try:
        for fn in (literal_fallback, computed_fallback):
            with pytest.raises(XCSTimeoutError):
                jit(fn, config=Config(timeout=0.2))("x")
    finally:
        release.set()


def test_a_timeout_unwinds_the_glue_through_its_finally_and_except_blocks() -> None:
    # The XCSTimeoutError raised where the glue waits is an exception at that line:
    # its handlers and `finally` blocks run once, as plain Python runs them for any.
    release = threading.Event()
    log: list[object] = []

    @op
    def hangs(key: str) -> str:
        release.wait(30)
        return key

    @op
    async def ahangs(key: str) -> str:
        await asyncio.sleep(30)
        return key

    def cleaned_up(key: str) -> str:
        try:
            return hangs(key)
        finally:
            log.append("finally")

    def logged(key: str) -> str:
        try:
            reply = hangs(key)
        except TimeoutError as error:
            log.append(("except", type(error).__name__))
            raise
        return reply

    async def acleaned_up(key: str) -> str:
        try:
            return await ahangs(key)
        finally:
            log.append("finally")

    async def alogged(key: str) -> str:
        try:
            reply = await ahangs(key)
        except TimeoutError as error:
            log.append(("except", type(error).__name__))
            raise
        return reply

    calls = [(cleaned_up, "finally"), (logged, ("except", "XCSTimeoutError"))]
    try:
        for fn, seen in calls + [(acleaned_up, "finally"),
                                 (alogged, ("except", "XCSTimeoutError"))]:
            for _ in range(2):  # and the next call too
                log.clear()
                call = jit(fn, config=Config(timeout=0.1))
                with pytest.raises(XCSTimeoutError):
                    if (fn, seen) in calls:
                        call("x")
                    else:
                        asyncio.run(call("x"))
                assert log == [seen], fn.__name__
    finally:
        release.set()


def test_a_timeout_ends_an_async_call_whose_glue_waits_for_an_op_result() -> None:
    # The glue needs the value (a condition, an op in a try block): the wait there
    # keeps the deadline, as a synchronous call's waits do.
    @op
    async def hangs(x: int) -> int:
        await asyncio.sleep(5)
        return x

    @op
    def plus_one(x: int) -> int:
        return x + 1

    async def branches(x: int) -> int:
        reply = await hangs(x)
        if reply > 0:
            return reply
        return 0

    async def eager(x: int) -> int:
        reply = await hangs(x)
        try:
            return plus_one(reply)
        finally:
            pass

    for fn in (branches, eager):
        for _ in range(2):  # and the next call too
            started = time.perf_counter()
            with pytest.raises(XCSTimeoutError, match="timeout=0.1 s"):
                asyncio.run(jit(fn, config=Config(timeout=0.1))(1))
            assert time.perf_counter() - started < 1.0, fn.__name__


def test_a_timeout_holds_with_the_sync_executor_too() -> None:
    ran: list[int] = []

    @op
    def slow(i: int) -> int:
        ran.append(i)
        time.sleep(0.15)
        return i

    call = jit(lambda: [slow(i) for i in range(4)], config=Config(executor="sync", timeout=0.1))
    started = time.perf_counter()
    with pytest.raises(XCSTimeoutError):
        call()
    assert ran == [0] and time.perf_counter() - started < 0.5  # no op ran after the deadline


def test_a_timed_out_async_call_names_the_async_ops_still_running() -> None:
    """The stop cancels them at once; the message still names them, every time."""

    @op
    async def aslow(x: int) -> int:
        await asyncio.sleep(0.5)
        return x

    @jit(config=Config(timeout=0.1))
    async def agent(xs: list[int]) -> list[int]:
        return [aslow(x) for x in xs]

    for _ in range(4):
        with pytest.raises(XCSTimeoutError, match=r"still running: aslow\."):
            asyncio.run(agent([1, 2]))


class _RequestTimeout(Exception):
    pass


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer (POSIX)")
def test_an_exception_a_signal_handler_raises_while_the_glue_waits_stops_the_call_at_once():
    """A per-request deadline made with SIGALRM bounds a jitted call as it bounds plain
    code: the handler's exception is raised at once, without waiting for the op."""

    @op
    def slow(x: int) -> int:
        time.sleep(1.0)
        return x

    @jit
    def handler(x: int) -> int:
        return slow(x) + 1

    def deadline(signum: int, frame: object) -> None:
        raise _RequestTimeout("request took too long")

    previous = signal.signal(signal.SIGALRM, deadline)
    try:
        for _ in range(2):  # and the next call too
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            started = time.perf_counter()
            with pytest.raises(_RequestTimeout, match="request took too long"):
                handler(1)
            assert time.perf_counter() - started < 0.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@op
def _lookup(user_id: int) -> dict[str, str]:
    time.sleep(0.005)
    raise KeyError(f"no user {user_id}")


def _handle(user_id: int) -> str:
    if user_id:
        profile = _lookup(user_id)
        return profile["name"]
    return ""


def test_an_op_failure_s_traceback_passes_through_the_line_that_called_it():
    import traceback

    def frames(call):
        try:
            call(7)
        except KeyError as error:
            return [(f.name, f.lineno, f.line) for f in traceback.extract_tb(error.__traceback__)
                    if "/ember/" not in f.filename]
        raise AssertionError("no KeyError")

    plain, jitted = frames(_handle), frames(jit(_handle))
    assert jitted[-2:] == plain[-2:]  # _handle's line, then the op body's
    assert [name for name, _, _ in plain[-2:]] == ["_handle", "_lookup"]


_started: list[int] = []


@op
def _step(total: int, i: int) -> int:
    _started.append(i)
    time.sleep(0.1)
    return total + i


@op
async def _astep(total: int, i: int) -> int:
    _started.append(i)
    await asyncio.sleep(0.1)
    return total + i


def _chain(n: int) -> int:
    total = 0
    for i in range(n):
        total = _step(total, i)  # the glue runs ahead: it then waits once, at return
    return total


async def _achain(n: int) -> int:
    total = 0
    for i in range(n):
        total = await _astep(total, i)
    return total


@pytest.mark.parametrize("interrupt", ["interrupt_main", "raise_signal"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_ctrl_c_raised_from_another_thread_stops_a_chain_as_plain_python_does(
        kind: str, interrupt: str) -> None:
    # Raised from a watchdog thread, the signal ends no wait of the main thread: its
    # handler runs once the main thread runs bytecode again, after the current op in
    # plain Python. A jitted call waiting once for the whole chain must look meanwhile.
    import _thread

    fire = _thread.interrupt_main if interrupt == "interrupt_main" else (
        lambda: signal.raise_signal(signal.SIGINT))
    call = (lambda: jit(_chain)(8)) if kind == "sync" else (
        lambda: asyncio.run(jit(_achain)(8)))
    for _ in range(2):  # and the next call too
        _started.clear()
        timer = threading.Timer(0.15, fire)
        timer.start()
        started = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            call()
        timer.join()
        assert time.perf_counter() - started < 0.5
        ran = list(_started)
        time.sleep(0.15)
        assert _started == ran and len(ran) < 4, "no op of the chain starts after it"


@pytest.mark.parametrize("stop", [KeyboardInterrupt, GeneratorExit])
def test_a_ctrl_c_the_glue_raises_itself_comes_after_the_ops_called_before_it(
        stop: type[BaseException]) -> None:
    # `raise KeyboardInterrupt` in the glue (a CLI loop told to quit) is the program's
    # own control flow, not a signal: in plain Python the ops before it had run.
    saved: list[int] = []

    @op
    def save(i: int) -> int:
        time.sleep(0.02)
        saved.append(i)
        return i

    @op
    async def asave(i: int) -> int:
        await asyncio.sleep(0.02)
        saved.append(i)
        return i

    def quit_after(n: int) -> None:
        for i in range(n):
            save(i)
        raise stop("quit")

    async def aquit_after(n: int) -> None:
        for i in range(n):
            await asave(i)
        raise stop("quit")

    for call in (jit(quit_after, config=Config(max_workers=1)), jit(quit_after),
                 lambda n: asyncio.run(jit(aquit_after)(n))):
        for _ in range(2):  # and the next call too
            saved.clear()
            with pytest.raises(stop, match="quit"):
                call(3)
            assert sorted(saved) == [0, 1, 2]


def test_async_calls_in_flight_on_one_loop_share_one_wake_up_timer() -> None:
    from ember.xcs.engine import interruptible

    @op
    async def slow(x: int) -> int:
        await asyncio.sleep(0.1)
        return x

    @jit
    async def ask(x: int) -> int:
        return await slow(x) + 0

    async def main() -> tuple[list[int], list[int], int]:
        calls = [asyncio.ensure_future(ask(i)) for i in range(50)]
        await asyncio.sleep(0.03)  # every call is waiting for its op
        holders = [beat[0] for beat in interruptible._beats.values()]
        timers = sum(1 for handle in asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
                     if not handle.cancelled())
        return await asyncio.gather(*calls), holders, timers

    results, holders, timers = asyncio.run(main())
    assert results == list(range(50))
    assert holders == [50]  # one loop, one timer, 50 calls holding it
    assert timers <= 5  # asyncio.sleep of the test itself, not one per call
    assert interruptible._beats == {}
