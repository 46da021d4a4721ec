"""Tests for tracing.files: the glue changing a file (removing, writing, renaming it,
removing its directory) after giving its path to an op waits for that op, which reads
the file as plain Python's did; ops given other paths keep running in parallel."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ember.xcs import explain, get_jit_stats, jit, op


@op
def transcribe(path: Any) -> str:
    time.sleep(0.01)
    return Path(path).read_text()


@op
def count_files(directory: str) -> int:
    time.sleep(0.01)
    return len(os.listdir(directory))


@op
def first_of(paths: list[str]) -> str:
    time.sleep(0.01)
    return Path(paths[0]).read_text()


def _unlinked(work: Path, text: str) -> str:
    upload = work / "upload.txt"
    upload.write_text(text)
    heard = transcribe(upload)
    upload.unlink()
    return heard


def _rewritten(work: Path, text: str) -> Any:
    draft = str(work / "draft.txt")
    with open(draft, "w") as out:
        out.write(text)
    first = transcribe(draft)
    Path(draft).write_text(text.upper())
    second = transcribe(draft)
    os.remove(draft)
    return first, second


def _removed_directory(work: Path, text: str) -> int:
    scratch = tempfile.mkdtemp(dir=work)
    Path(scratch, "a.txt").write_text(text)
    count = count_files(scratch)
    shutil.rmtree(scratch)
    return count


def _renamed(work: Path, text: str) -> Any:
    source = work / "in.txt"
    source.write_text(text)
    inside = first_of([str(source)])
    os.replace(source, work / "done.txt")
    opened = open(work / "done.txt", "a")
    opened.close()
    return inside


def _appended(work: Path, text: str) -> str:
    log_path = work / "log.txt"
    log = open(log_path, "w")
    log.write(text)
    log.flush()
    seen = transcribe(log_path)
    log.write(" and more")
    log.close()
    return seen


def _temporary(work: Path, text: str) -> Any:
    upload = tempfile.NamedTemporaryFile("w", suffix=".txt", dir=work)
    upload.write(text)
    upload.flush()
    heard = transcribe(upload.name)
    upload.close()  # removes it
    scratch = tempfile.TemporaryDirectory(dir=work)
    Path(scratch.name, "a.txt").write_text(text)
    count = count_files(scratch.name)
    scratch.cleanup()
    return heard, count


@op
def export(text: str, path: Any) -> None:
    time.sleep(0.01)
    Path(path).write_text(text)


def _exported(work: Path, text: str) -> Any:
    target = work / "out.json"
    if target.exists():
        target.unlink()
    export(text, target)
    listed = sorted(os.listdir(work))
    return target.read_text(), os.path.getsize(str(target)), "out.json" in listed


def _exported_glob(work: Path, text: str) -> Any:
    import glob

    for old in glob.glob(str(work / "*.md")):
        os.remove(old)
    export(text, work / "a.md")
    return [Path(p).name for p in glob.glob(str(work / "*.md"))]


@op
def export_table(rows: list[dict[str, Any]], path: Any) -> None:
    import pandas as pd

    time.sleep(0.01)
    pd.DataFrame(rows).to_csv(path, index=False)


def _table_round_trip(work: Path, text: str) -> Any:
    import numpy as np
    import pandas as pd

    table = work / "table.csv"
    export_table([{"text": text, "n": len(text)}], table)
    frame = pd.read_csv(table)
    pd.DataFrame({"text": [text.upper()]}).to_csv(table, index=False)
    arrays = work / "a.npy"
    np.save(arrays, np.arange(3))
    return frame.to_dict("records"), count_files(str(work)), np.load(arrays).tolist()


@op
def pack(path: Any, text: str) -> None:
    import gzip

    time.sleep(0.01)
    with gzip.open(path, "wt") as out:
        out.write(text)


def _gzipped(work: Path, text: str) -> str:
    import gzip

    target = work / "notes.gz"
    pack(target, text)
    with gzip.open(target, "rt") as packed:
        return packed.read()


class Job:
    def __init__(self, path: str) -> None:
        self.path = path


@op
def run_job(job: Job) -> str:
    time.sleep(0.01)
    return Path(job.path).read_text()


def _job_done(work: Path, text: str) -> str:
    job = Job(str(work / "job.txt"))
    Path(job.path).write_text(text)
    output = run_job(job)
    os.unlink(job.path)
    return output


@pytest.mark.parametrize("program", [_unlinked, _rewritten, _removed_directory, _renamed,
                                     _job_done, _appended, _temporary,
                                     _exported, _exported_glob, _table_round_trip,
                                     _gzipped])
def test_a_file_changed_after_its_op_was_called_is_read_first(
        program: Callable[..., Any], tmp_path: Path) -> None:
    expected = program(tmp_path, "hello")
    jitted = jit(program)
    for text in ("hello", "again"):  # the first call, and one after jit has learned
        assert jitted(tmp_path, text) == program(tmp_path, text)
    assert expected


def test_explain_names_the_op_reading_the_file(tmp_path: Path) -> None:
    program = jit(_unlinked)
    program(tmp_path, "hi")
    assert "file used while op transcribe was given its path" in explain(program)


def test_files_no_running_op_was_given_do_not_wait(tmp_path: Path) -> None:
    def write_each(texts: list[str]) -> list[str]:
        heard = []
        for i, text in enumerate(texts):
            path = tmp_path / f"{i}.txt"
            path.write_text(text)
            heard.append(transcribe(path))
        (tmp_path / "log.txt").write_text("done")
        return heard

    program = jit(write_each)
    assert program(["a", "b", "c"]) == ["a", "b", "c"]
    assert get_jit_stats(program)["max_parallelism"] == 3


def test_async_glue_waits_without_blocking_its_loop(tmp_path: Path) -> None:
    async def cleanup(text: str) -> str:
        upload = tmp_path / "upload.txt"
        upload.write_text(text)
        heard = transcribe(upload)
        upload.unlink()
        return await asyncio.sleep(0, heard)

    assert asyncio.run(jit(cleanup)("hello")) == "hello"
    assert asyncio.run(jit(cleanup)("again")) == "again"


def test_paths_a_call_changes() -> None:
    import glob

    from ember.xcs.tracing.files import touched_paths

    absolute = os.path.abspath
    assert touched_paths(open, ("a.txt",), {"mode": "w"}) == (absolute("a.txt"),)
    assert touched_paths(Path("a.txt").read_text, (), {}) == (absolute("a.txt"),)
    assert touched_paths(shutil.copy, ("a", "b"), {}) == (absolute("a"), absolute("b"))
    assert touched_paths(glob.glob, ("out/*.json",), {}) == (absolute("out"),)
    assert touched_paths(os.path.join, ("a.txt",), {}) == ()
    assert touched_paths(Path("a.txt").with_suffix, (".md",), {}) == ()
    assert touched_paths(print, ("a.txt",), {}) == ()
