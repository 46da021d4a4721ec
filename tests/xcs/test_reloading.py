"""IPython's ``%autoreload`` updates a jitted function or an op imported by name, as it
does a plain function: the name a notebook imported runs the module's new code."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.xcs import get_jit_stats, jit

AGENT = textwrap.dedent("""\
    import time
    from ember.xcs import jit, op

    @op
    def fetch(k):
        time.sleep(0.01)
        return k.upper() + "MARK"

    @jit
    def pipeline(keys):
        return "SEP".join([fetch(k) for k in keys])

    def plain(keys):
        return "SEP".join([fetch(k) for k in keys])
""")


@pytest.fixture
def agent_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "reloading_agent.py"
    path.write_text(AGENT.replace("SEP", "+").replace("MARK", ""))
    sys.path.insert(0, str(tmp_path))
    try:
        yield path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("reloading_agent", None)


def test_autoreload_updates_a_jitted_function_imported_by_name(agent_file: Path) -> None:
    autoreload = pytest.importorskip("IPython.extensions.autoreload")
    module = importlib.import_module("reloading_agent")
    pipeline, plain = module.pipeline, module.plain  # from reloading_agent import ...
    assert pipeline(["a", "b"]) == plain(["a", "b"]) == "A+B"
    agent_file.write_text(AGENT.replace("SEP", "-").replace("MARK", ""))
    stat = agent_file.stat()
    os.utime(agent_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    autoreload.superreload(module)  # what %autoreload does with an edited module
    assert plain(["a", "b"]) == "A-B"
    assert pipeline(["a", "b"]) == "A-B"
    assert get_jit_stats(pipeline)["fallbacks"] == []


def test_autoreload_updates_an_op_imported_by_name(agent_file: Path) -> None:
    autoreload = pytest.importorskip("IPython.extensions.autoreload")
    module = importlib.import_module("reloading_agent")
    fetch = module.fetch  # from reloading_agent import fetch
    assert fetch("a") == "A" and jit(lambda k: fetch(k))("b") == "B"
    agent_file.write_text(AGENT.replace("SEP", "+").replace("MARK", "!"))
    stat = agent_file.stat()
    os.utime(agent_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    autoreload.superreload(module)
    assert fetch("a") == "A!" and jit(lambda k: fetch(k))("b") == "B!"
