"""Done-when of the result cache: a crashed 200-item batch resumes without paying twice.

A child process maps a model call over 200 prompts (``vmap``, 8 at a time) against the
loopback OpenAI-compatible server, with ``Config(result_cache=...)``. The test kills it
(SIGKILL) halfway, reruns it, and counts requests at the server: the rerun makes exactly
one request per item that had not finished, none for the finished ones, and its results
equal those of a run without any cache.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ember.testing.loopback import LoopbackServer

pytest.importorskip("openai")

ITEMS = 200

CHILD = """
import json, sys
from ember.models.providers import OpenAIProvider
from ember.xcs import Config, op, vmap

base_url, cache_path, out_path = sys.argv[1:4]
ITEMS = int(sys.argv[4])
provider = OpenAIProvider(base_url=base_url, api_key="EMPTY")


@op(cache=None, version="loopback-v1")  # cached whenever a result cache is active
def ask(prompt):
    return provider.complete("openai", "m", prompt, {"temperature": 0})


config = Config(max_workers=8, result_cache=cache_path or None)
answers = vmap(ask, config=config)([f"item {i}: what is tidal power?" for i in range(ITEMS)])
with open(out_path, "w") as out:
    json.dump([[a.text, a.model_id, a.usage.total_tokens] for a in answers], out)
"""


def _finished(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(cache, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


def _run(script: Path, server: LoopbackServer, cache: str, out: Path) -> None:
    subprocess.run([sys.executable, str(script), server.openai_base_url, cache, str(out),
                    str(ITEMS)], check=True, timeout=120)


def test_killed_batch_resumes_without_paying_for_finished_items(tmp_path: Path) -> None:
    script = tmp_path / "batch.py"
    script.write_text(CHILD)
    cache = tmp_path / "results.sqlite"
    with LoopbackServer(latency=0.1) as server:
        child = subprocess.Popen(
            [sys.executable, str(script), server.openai_base_url, str(cache),
             str(tmp_path / "never.json"), str(ITEMS)]
        )
        deadline = time.monotonic() + 60
        while _finished(cache) < ITEMS // 3 and child.poll() is None:
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert child.returncode == -signal.SIGKILL, "the batch finished before it was killed"
        finished = _finished(cache)
        assert ITEMS // 3 <= finished < ITEMS
        paid_first = server.stats().requests
        assert paid_first >= finished

        server.reset()
        _run(script, server, str(cache), tmp_path / "resumed.json")
        assert server.stats().requests == ITEMS - finished  # nothing finished is paid twice
        assert _finished(cache) == ITEMS

        server.reset()
        _run(script, server, "", tmp_path / "uncached.json")
        assert server.stats().requests == ITEMS

        server.reset()
        _run(script, server, str(cache), tmp_path / "cached.json")
        assert server.stats().requests == 0  # a complete rerun is free

    resumed = json.loads((tmp_path / "resumed.json").read_text())
    uncached = json.loads((tmp_path / "uncached.json").read_text())
    assert resumed == uncached == json.loads((tmp_path / "cached.json").read_text())
    assert len({text for text, _, _ in resumed}) == ITEMS  # every item had its own answer
