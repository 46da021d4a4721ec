"""Tests for the engine driver: what a forked process pool worker inherits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

SRC = str(Path(__file__).resolve().parents[3] / "src")

_NESTED = textwrap.dedent("""
    import threading
    from ember.xcs import Config, jit, pmap, vmap

    def shout(text):
        return text.upper()

    @jit
    def twice(text):
        return shout(text) + shout(text)

    def jitted_inside(text):
        return twice(text)

    if __name__ == "__main__":
        # Warm the parent's thread pool and loop first: the child inherits them.
        assert vmap(shout)(["x", "y"]) == ["X", "Y"]
        print(pmap(vmap(shout), config=Config(executor="process"))([["a", "b"], ["c"]]))
        print(pmap(jitted_inside, config=Config(executor="process"))(["d", "e"]))
""")


def _run_script(tmp_path: Path, source: str, timeout: float = 60) -> str:
    script = tmp_path / "script.py"
    script.write_text(source)
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the script and its pool workers
        process.communicate()
        pytest.fail(f"the script still ran after {timeout} s (deadlock)")
    assert process.returncode == 0, err
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="process pools fork only on POSIX")
def test_jitted_code_in_a_process_executor_op_does_not_deadlock(tmp_path: Path) -> None:
    out = _run_script(tmp_path, _NESTED)
    assert out.splitlines() == ["[['A', 'B'], ['C']]", "['DD', 'EE']"]


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")
def test_a_forked_child_gets_a_fresh_engine_and_loop() -> None:
    from ember.xcs.engine import driver, loop, threads

    parent_engine = driver.default_engine()
    parent_loop = loop.shared_loop()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        fresh = (driver.default_engine() is not parent_engine
                 and loop.shared_loop() is not parent_loop
                 and threads._worker.pool is None)
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert driver.default_engine() is parent_engine  # the parent keeps its own


def test_a_lifted_call_runs_in_the_callers_context_as_it_was() -> None:
    """NumPy 2's error state and decimal's context are context variables: a lifted
    np.log or Decimal division reads them as the glue had set them at that line."""
    import contextvars
    import decimal

    import numpy as np

    from ember.xcs import jit, op

    @op
    def values(n: int) -> Any:
        time.sleep(0.01)
        return np.arange(n, dtype=float)

    @op
    def amount() -> decimal.Decimal:
        time.sleep(0.01)
        return decimal.Decimal(1)

    def logs(n: int) -> Any:
        old = np.seterr(all="raise")
        result = np.log(values(n))  # log(0): raises under the glue's setting
        np.seterr(**old)
        return result

    def thirds() -> Any:
        decimal.setcontext(decimal.Context(prec=3))
        return amount() / 3

    for program in (logs, jit(logs)):
        with pytest.raises(FloatingPointError, match="divide by zero"):
            program(3)
    assert str(contextvars.copy_context().run(thirds)) == "0.333"
    assert str(contextvars.copy_context().run(jit(thirds))) == "0.333"


def test_an_op_the_glue_waits_for_runs_on_the_glues_thread() -> None:
    """In a `with lock:` block the glue waits for each op: as in plain Python it runs on
    the glue's own thread, so a reentrant lock the glue holds does not deadlock it, and
    the glue's threading.local is the op's. effect=True ops too."""
    import threading

    from ember.xcs import Config, jit, op

    lock = threading.RLock()
    local = threading.local()
    threads: list[str] = []

    @op
    def query(key: str) -> int:
        with lock:  # the glue holds it: another thread would wait forever
            threads.append(threading.current_thread().name)
            return len(key) + getattr(local, "offset", 0)

    @op(effect=True)
    def audit(key: str) -> str:
        threads.append(threading.current_thread().name)
        return f"{key}:{getattr(local, 'offset', None)}"

    def transaction(keys: list[str]) -> tuple[int, str]:
        local.offset = 10
        with lock:
            total = sum([query(key) for key in keys])
        return total, audit("done")

    plain = transaction(["a", "bb"])
    threads.clear()
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", jit(transaction)(["a", "bb"])),
                              name="glue", daemon=True)
    worker.start()
    worker.join(10)
    assert result.get("r") == plain == (23, "done:10")
    assert threads == ["glue"] * 3
    # Under a deadline the ops run on worker threads, so that the deadline can end it.
    threads.clear()
    assert jit(lambda: audit("x"), config=Config(timeout=5))() == "x:None"
    assert threads != [threading.current_thread().name]


def test_a_recursion_error_while_issuing_an_op_never_hangs_the_call() -> None:
    """Near the recursion limit the glue may hit RecursionError inside XCS, after the
    op was added to the run: the call raises it (or returns), it never waits forever."""
    import threading

    from ember.xcs import jit, op

    @op
    def step(value: int) -> int:
        return value + 1

    def explore(node: int) -> int:
        return explore(step(node))  # no base case: RecursionError in plain Python

    def one(value: int) -> int:
        return step(value)

    def at_depth(depth: int, fn: Any) -> Any:
        return fn(1) if depth == 0 else at_depth(depth - 1, fn)

    outcomes: list[str] = []

    def attempt(fn: Any, depth: int) -> None:
        try:
            outcomes.append(repr(at_depth(depth, fn)))
        except RecursionError:
            outcomes.append("RecursionError")

    jitted_one = jit(one)
    cases = [(jit(explore), 0)] + [(jitted_one, depth) for depth in range(200, 300)]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        for fn, depth in cases:
            worker = threading.Thread(target=attempt, args=(fn, depth), daemon=True)
            worker.start()
            worker.join(10)
            assert not worker.is_alive(), f"the call at depth {depth} hangs"
    finally:
        sys.setrecursionlimit(limit)
    assert outcomes[0] == "RecursionError"
    assert set(outcomes) <= {"2", "RecursionError"}

    async def agent(node: int) -> int:
        return explore(node)

    def run_async() -> None:
        import asyncio

        try:
            asyncio.run(jit(agent)(0))
        except RecursionError:
            outcomes.append("async RecursionError")

    worker = threading.Thread(target=run_async, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive() and outcomes[-1] == "async RecursionError"


_NO_NEW_THREADS = textwrap.dedent("""
    import asyncio, atexit, threading, time
    from ember.api.models import models
    from ember.xcs import Config, jit, op

    @op
    def double(x):
        time.sleep(0.01)
        return x * 2

    @op
    async def fetch(x):
        await asyncio.sleep(0.01)
        return x + 1

    @jit
    def fan_out(n):
        return sum([double(i) for i in range(n)])

    @jit
    def ask(n):
        return [str(models("simulated/m", f"q{i}", latency=0.01))[:11] for i in range(n)]

    @jit(config=Config(max_workers=2))
    def awaited(n):
        out = []
        for i in range(n):
            try:  # the op runs at its call: its coroutine on the engine's loop
                out.append(asyncio.run(fetch(i)))
            except ValueError:
                out.append(None)
        return out

    def report(n):
        print(fan_out(n), ask(2), awaited(2), flush=True)

    def refuse(thread):
        raise RuntimeError("can't create new thread at interpreter shutdown")

    if __name__ == "__main__":
        start = threading.Thread.start
        threading.Thread.start = refuse  # as in an atexit handler on 3.12
        report(4)  # no worker, no loop yet
        threading.Thread.start = start
        report(2)  # a few workers, and the loop
        threading.Thread.start = refuse
        report(8)  # more workers needed than are there
        threading.Thread.start = start
        atexit.register(report, 16)  # the real thing on 3.12
""")


def test_a_call_made_where_no_thread_can_start_runs_its_ops_on_the_callers_thread(
        tmp_path: Path) -> None:
    # In an atexit handler on 3.12 no thread can start: a jitted call issuing ops that
    # needed a new worker or the engine's loop raised RuntimeError, or waited forever.
    out = _run_script(tmp_path, _NO_NEW_THREADS, timeout=30)
    answers = "['[simulated]', '[simulated]'] [1, 2]"
    assert out.splitlines() == [f"{total} {answers}" for total in (12, 2, 56, 240)]
