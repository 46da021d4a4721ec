"""Jitted calls made where ops cannot go to other threads run as plain Python
(ember/xcs/api/hosts.py): while the calling thread imports a module, and at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ember.xcs.api.hosts import importing_module

# A module whose body calls a jitted function; each op imports the module again,
# lazily, as code breaking an import cycle does.
_CYCLIC = """
import asyncio
import time

from ember.xcs import get_jit_stats, jit, op


@op
def work(key):
    time.sleep(0.002)
    from {name} import helper
    return helper(key)


@op
async def awork(key):
    await asyncio.sleep(0.002)
    from {name} import helper
    return helper(key)


def helper(key):
    return key.upper()


@jit
def build(keys):
    return [work(key) for key in keys]


@jit
async def abuild(keys):
    return [await awork(key) for key in keys]


TABLE = build(["a", "b"])
ATABLE = asyncio.run(abuild(["c", "d"]))
FALLBACKS = get_jit_stats(build)["fallbacks"]
"""


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_a_call_while_its_module_imports_runs_plainly_instead_of_deadlocking(
        tmp_path: Path) -> None:
    (tmp_path / "cyclic_table.py").write_text(_CYCLIC.format(name="cyclic_table"))
    done = _python("""
        import sys, time
        sys.path.insert(0, ".")
        import cyclic_table as m
        print(m.TABLE, m.ATABLE)
        print(m.FALLBACKS[-1])
        # After the import, the same function runs its ops concurrently again.
        started = time.perf_counter()
        assert m.build([str(i) for i in range(40)]) == [str(i) for i in range(40)]
        print("concurrent", time.perf_counter() - started < 0.07)
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    table, fallback, concurrent = done.stdout.splitlines()
    assert table == "['A', 'B'] ['C', 'D']"
    assert "imports module 'cyclic_table': runs as plain Python" in fallback
    assert concurrent == "concurrent True"


def test_a_call_from_a_finalizer_at_exit_runs_plainly(tmp_path: Path) -> None:
    done = _python("""
        import os
        from ember.xcs import jit, op

        def make():
            @op
            def shout(text):
                return text.upper()

            @jit
            def pipeline(words):
                return [shout(word) for word in words]

            return pipeline

        pipeline = make()
        pipeline(["warm"])

        class Closer:
            def __del__(self, pipeline=pipeline, write=os.write):
                try:
                    write(1, f"at exit: {pipeline(['a', 'b'])!r}\\n".encode())
                except BaseException as error:
                    write(1, f"at exit failed: {error!r}\\n".encode())

        keeper = Closer()
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "at exit: ['A', 'B']\n"


def test_no_module_is_importing_in_a_test() -> None:
    assert importing_module() is None


_WARM = """
import asyncio
import time

from ember.xcs import jit, op


@op
def work(key):
    time.sleep(0.01)
    return key


@jit
def fan(n):
    return [work(i) for i in range(n)]


@jit
async def afan(n):
    return [await asyncio.to_thread(time.sleep, 0.01) for _ in range(n)]


for _ in range(3):
    fan(2)
asyncio.run(afan(2))
"""


def test_calls_run_plainly_at_import_are_counted_and_explained(tmp_path: Path) -> None:
    (tmp_path / "warm_up.py").write_text(_WARM)
    done = _python("""
        import sys
        sys.path.insert(0, ".")
        import warm_up
        from ember.xcs import explain, get_jit_stats
        for f in (warm_up.fan, warm_up.afan):
            s = get_jit_stats(f)
            print(s["calls"], s["total_time_ms"] > 15, len(s["fallbacks"]), s["fallbacks"][-1])
        print(explain(warm_up.fan))
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    fan, afan, *report = done.stdout.splitlines()
    assert fan.startswith("3 True 1 called while this thread imports module 'warm_up'")
    assert fan.endswith(" [3 times in a row]")
    assert afan.startswith("1 True 1 called while this thread imports module 'warm_up'")
    assert "  calls so far: 3 (3 ran as plain Python, untraced: see fallbacks)" in report
    assert "  no traced call yet: every call so far ran as plain Python (the fallbacks " \
           "below say why)" in report


def test_a_sync_jitted_call_inside_an_async_op_runs_plainly_instead_of_hanging(
        tmp_path: Path) -> None:
    # An agent's async tool calls a synchronous jitted helper whose ops have an async
    # path (as the model providers do). The helper's glue would block XCS's loop thread
    # waiting for ops that can only run on that loop: before, the call never returned.
    done = _python("""
        import asyncio
        import time

        from ember.xcs import get_jit_stats, jit, op


        async def adraft(text):
            await asyncio.sleep(0.005)
            return text.upper()


        @op(async_fn=adraft)
        def draft(text):
            time.sleep(0.005)
            return text.upper()


        @jit
        def summarize(text):
            drafts = [draft(text), draft(text + "!")]
            return " / ".join(str(d) for d in drafts)


        @op
        async def research(query):
            await asyncio.sleep(0.001)
            return summarize(query)


        @jit
        async def handler(query):
            return await research(query)


        class Judge:  # a hook hears async ops on the loop thread too
            def on_node_end(self, event):
                if event.name == "research":
                    print("hook", summarize("h"))


        print(asyncio.run(handler("cats")))
        print(asyncio.run(handler.with_config(hooks=[Judge()])("dogs")))
        print(get_jit_stats(summarize)["fallbacks"][-1])
        print(summarize("x"))  # from the main thread: traced as usual
        print(get_jit_stats(summarize)["traced_calls"])
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == ["CATS / CATS!", "hook H / H!", "DOGS / DOGS!"]
    fallback, plain_after, traced = done.stdout.splitlines()[3:]
    assert fallback.startswith("called on XCS's event loop thread (inside an async def op)")
    assert plain_after == "X / X!"
    assert traced == "1"
