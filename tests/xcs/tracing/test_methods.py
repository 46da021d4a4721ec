"""A method call on an op result is lifted only when it reads or changes the value itself
(``reply.strip()``, ``rows.append(x)``); a method that may act outside the value
(``path.write_text(s)``, ``path.replace(target)``, ``thread.join()``) runs at its call
site, so the lines after it see what it did, as in plain Python."""

from __future__ import annotations

import asyncio
import collections
import datetime
import itertools
import pathlib
import re
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op
from ember.xcs.op_runs import return_class
from ember.xcs.tracing.methods import MethodCall, method_call

TMP = pathlib.Path(tempfile.mkdtemp())
NAMES = itertools.count()


@op
def output_path(name: str):  # type: ignore[no-untyped-def]  # class not known: first call
    time.sleep(0.01)
    return TMP / name


@op
def typed_path(name: str) -> pathlib.Path:
    time.sleep(0.01)
    return TMP / name


@op
async def aoutput_path(name: str):  # type: ignore[no-untyped-def]
    await asyncio.sleep(0.01)
    return TMP / name


def export(name: str) -> bool:
    p = output_path(name)
    p.write_text("summary")
    return (TMP / name).exists()


def publish(name: str) -> bool:
    (TMP / name).write_text("draft")
    p = typed_path(name)
    p.replace(TMP / (name + ".final"))
    return (TMP / (name + ".final")).exists()


def cleanup(name: str) -> bool:
    (TMP / name).write_text("tmp")
    p = output_path(name)
    p.unlink()
    return (TMP / name).exists()


def make_and_rename(name: str) -> tuple[bool, bool]:
    p = output_path(name)
    p.mkdir()
    made = (TMP / name).is_dir()
    p.rename(TMP / (name + ".moved"))
    return made, (TMP / (name + ".moved")).is_dir()


LOG: list[str] = []


@op
def start_indexer(n: int):  # type: ignore[no-untyped-def]
    time.sleep(0.005)
    thread = threading.Thread(target=lambda: (time.sleep(0.03), LOG.append("indexed")))
    thread.start()
    return thread


def index_then_report(n: int) -> list[str]:
    LOG.clear()
    t = start_indexer(n)
    t.join()
    LOG.append("report")
    return list(LOG)


@pytest.mark.parametrize("program", [export, publish, cleanup, make_and_rename],
                         ids=lambda p: p.__name__)
def test_a_path_method_acts_on_the_file_before_the_next_line(
        program: Callable[[str], Any]) -> None:
    jitted = jit(program)
    for _ in range(2):  # the first call and a later one
        assert jitted(f"j{next(NAMES)}") == program(f"p{next(NAMES)}")
    assert get_jit_stats(jitted)["barriers"]  # it waited for the path, at its line


def test_a_thread_an_op_returned_is_joined_before_the_next_line() -> None:
    jitted = jit(index_then_report)
    assert jitted(1) == index_then_report(1) == ["indexed", "report"]
    assert jitted(2) == ["indexed", "report"]


def test_async_glue_writes_the_file_before_the_next_line() -> None:
    async def export_async(name: str) -> bool:
        p = await aoutput_path(name)
        p.write_text("summary")
        return (TMP / name).exists()

    assert asyncio.run(jit(export_async)(f"a{next(NAMES)}")) is True


@op
def reply(q: str) -> Any:
    time.sleep(0.01)
    return f" {q}\n"


def test_str_methods_of_results_stay_lifted_whatever_the_annotation() -> None:
    def clean(qs: list[str]) -> list[str]:
        return [reply(q).replace("\n", "").strip().upper() for q in qs]

    jitted = jit(clean)
    for _ in range(2):
        assert jitted(["a", "b", "c"]) == ["A", "B", "C"]
    assert get_jit_stats(jitted)["barriers"] == []
    assert get_jit_stats(jitted)["max_parallelism"] == 3


@pytest.mark.parametrize(("cls", "name", "how"), [
    (str, "replace", MethodCall.READS),
    (dict, "get", MethodCall.READS),
    (list, "append", MethodCall.CHANGES),
    (collections.OrderedDict, "move_to_end", MethodCall.CHANGES),
    (datetime.datetime, "isoformat", MethodCall.READS),
    (re.Match, "group", MethodCall.READS),
    (pathlib.PurePosixPath, "with_suffix", MethodCall.READS),
    (pathlib.Path, "replace", MethodCall.NOW),
    (pathlib.Path, "write_text", MethodCall.NOW),
    (threading.Thread, "join", MethodCall.NOW),
    (None, "strip", MethodCall.READS),
    (None, "append", MethodCall.CHANGES),
    (None, "unlink", MethodCall.NOW),
    (None, "start", MethodCall.NOW),
])
def test_a_method_call_is_decided_by_its_class_else_by_its_name(
        cls: type | None, name: str, how: MethodCall) -> None:
    assert method_call(cls, name) is how


def test_the_class_of_a_returned_local_is_read_from_its_constructor() -> None:
    def builds(flag: bool):  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=print)
        if flag:
            thread.daemon = True
        return thread

    def rebinds(flag: bool):  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=print)
        for thread in [thread]:  # bound another way too: not known
            pass
        return thread

    def parameter(thread: Any = None):  # type: ignore[no-untyped-def]
        if thread is None:
            thread = threading.Thread(target=print)
        return thread

    def vague() -> Any:
        return threading.Thread(target=print)

    assert return_class(builds) is threading.Thread
    assert return_class(rebinds) is None and return_class(parameter) is None
    assert return_class(vague) is None  # Any says nothing of the class


class Card:
    def __init__(self, text: str) -> None:
        self.text = text

    def shout(self) -> str:
        SEEN.append("shout")
        return self.text.upper()


SEEN: list[str] = []


@op
def draw(text: str):  # type: ignore[no-untyped-def]
    time.sleep(0.01)
    return make_card(text)  # a helper's result: the class is not known before a run


def make_card(text: str) -> Card:
    return Card(text)


def test_a_method_of_the_user_s_class_runs_at_its_call_on_the_first_call_too() -> None:
    def program(text: str) -> tuple[str, list[str]]:
        SEEN.clear()
        loud = draw(text).shout()
        SEEN.append("after")
        return loud, list(SEEN)

    jit_draw = jit(program)
    assert jit_draw("hi") == program("hi") == ("HI", ["shout", "after"])
