"""The shared process pool: unpicklable work is reported clearly; a broken pool is replaced."""

from __future__ import annotations

import os
import threading
from concurrent.futures.process import BrokenProcessPool

import pytest

from ember.xcs import Config, SerializationError, vmap

PROCESS = Config(executor="process")


def double(x: int) -> int:
    return 2 * x


def crash(x: int) -> int:
    os._exit(3)  # a worker that dies, as after a crash in C code


def test_an_unpicklable_function_raises_serialization_error_naming_the_op() -> None:
    with pytest.raises(SerializationError) as caught:
        vmap(lambda x: x + 1, config=PROCESS)([1, 2])
    message = str(caught.value)
    assert "'<lambda>'" in message and "its function" in message
    assert "module level" in message and "executor='thread'" in message


def test_an_unpicklable_argument_is_named() -> None:
    lock = threading.Lock()
    with pytest.raises(SerializationError, match=r"argument 0 cannot be pickled"):
        vmap(double, config=PROCESS)([lock])


def test_a_pool_whose_worker_died_is_replaced_on_the_next_call() -> None:
    assert vmap(double, config=PROCESS)([1, 2]) == [2, 4]
    with pytest.raises(BrokenProcessPool) as caught:
        vmap(crash, config=PROCESS)([1])
    assert any("'crash'" in note and "new pool" in note
               for note in getattr(caught.value, "__notes__", []))
    assert vmap(double, config=PROCESS)([3, 4]) == [6, 8]


SCRIPT = '''
from ember.xcs import Config, pmap, vmap

cfg = Config(executor="process", max_workers=2)

def clean(s):
    return s.strip()

print(pmap(clean, config=cfg)([" a ", " b "]))

def clean(s):  # redefined, as an edited notebook cell is
    return s.strip().lower()

print(pmap(clean, config=cfg)([" A ", " B "]))

def shout(s):  # defined after the pool's workers were forked
    return s.upper() + "!"

print(vmap(shout, config=cfg)(["a", "b"]))
'''


def test_functions_of_the_main_script_defined_or_redefined_later_run_as_they_are_now(
        tmp_path) -> None:
    import subprocess
    import sys

    script = tmp_path / "notebook_like.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["['a', 'b']", "['a', 'b']", "['A!', 'B!']"]


def test_a_lambda_does_not_replace_the_pool() -> None:
    """A lambda or local function is never shipped by reference, so it says nothing
    about what the workers hold (its pickling fails on its own)."""
    from ember.xcs.engine.pool import SharedProcessPool

    def made_in_a_notebook() -> int:
        return 1

    made_in_a_notebook.__module__ = "__main__"  # as a notebook cell's would be
    shared = SharedProcessPool()
    try:
        first = shared.get()
        assert shared.get(made_in_a_notebook) is first
    finally:
        shared.close()
