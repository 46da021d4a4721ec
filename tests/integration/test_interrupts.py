"""One Ctrl-C stops a call; timeouts free what they held; nothing of a call is kept (issue 10)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

from ember.xcs import Config, Presets, XCSTimeoutError, jit, op

FAN_OUT = """
import sys, time
from ember.xcs import Config, jit, op

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
    child = subprocess.Popen([sys.executable, str(script), str(starts)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        child.wait(timeout=10)
        exited = time.time()
    finally:
        if child.poll() is None:
            child.kill()
    stderr = child.stderr.read() if child.stderr else ""
    assert "KeyboardInterrupt" in stderr, stderr[-2000:]
    times = [float(line) for line in starts.read_text().split()]
    return exited - sent, times, sent


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
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Task]
