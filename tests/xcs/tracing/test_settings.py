"""Tests for tracing.settings: the glue setting a process-wide setting back after an op
call (the working directory, logging, warnings, sys.stdout) waits for the ops issued
before, which read the setting as plain Python's did."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ember.xcs import explain, jit, op

log = logging.getLogger("ember-tests.settings")
stream = io.StringIO()


@pytest.fixture(autouse=True)
def _quiet_logger() -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = False
    stream.seek(0)
    stream.truncate()
    yield
    log.removeHandler(handler)


@op
def load(name: str) -> str:
    time.sleep(0.01)
    return Path(name).read_text()


@op
def made_mode(name: str) -> int:
    time.sleep(0.01)
    path = Path(tempfile.gettempdir(), name)
    path.write_text("x")
    mode = path.stat().st_mode & 0o777
    path.unlink()
    return mode


@op
def step(x: int) -> int:
    time.sleep(0.01)
    log.debug("step %s", x)
    print("step", x)
    return x * 2


@op
def risky(x: int) -> int:
    time.sleep(0.01)
    warnings.warn(f"careful {x}", UserWarning, stacklevel=1)
    return x


@op
def temp_home(x: int) -> str:
    time.sleep(0.01)
    return tempfile.gettempdir()


def _in_directory(work: str, name: str) -> str:
    old = os.getcwd()
    os.chdir(work)
    text = load(name)
    os.chdir(old)
    return text


def _umask(name: str) -> int:
    old = os.umask(0o077)
    mode = made_mode(name)
    os.umask(old)
    return mode


def _debugged(x: int) -> Any:
    log.setLevel(logging.DEBUG)
    value = step(x)
    log.setLevel(logging.WARNING)
    return value, stream.getvalue()


@op
def named_step(x: int) -> int:
    time.sleep(0.01)
    logging.getLogger("ember-tests.settings").warning("named step %s", x)
    return x


def _silenced(x: int) -> Any:
    quiet = logging.getLogger("ember-tests.settings")
    quiet.disabled = True
    value = named_step(x)
    quiet.disabled = False
    return value, stream.getvalue()


def _captured(x: int) -> Any:
    buffer = io.StringIO()
    old, sys.stdout = sys.stdout, buffer
    value = step(x)
    sys.stdout = old
    return value, buffer.getvalue()


def _strict(x: int) -> Any:
    warnings.simplefilter("error", UserWarning)
    try:
        value = risky(x)  # eager in a try block: to compare, the later use is the point
    finally:
        pass
    return value


def _strict_lazy(x: int) -> Any:
    with warnings.catch_warnings():
        pass
    warnings.simplefilter("error", UserWarning)
    value = risky(x)
    warnings.simplefilter("ignore", UserWarning)
    return value


@op
def local_time(seconds: int) -> str:
    time.sleep(0.01)
    return time.strftime("%H:%M %Z", time.localtime(seconds))


def _in_tokyo(seconds: int) -> str:
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    shown = local_time(seconds)
    os.environ["TZ"] = "UTC"
    time.tzset()
    return shown


def _tempdir(directory: str) -> str:
    tempfile.tempdir = directory
    where = temp_home(1)
    tempfile.tempdir = None
    return where


def _same(program: Callable[..., Any], *args: Any) -> None:
    def outcome(fn: Callable[..., Any]) -> Any:
        stream.seek(0)
        stream.truncate()
        try:
            with warnings.catch_warnings():
                result = "value", fn(*args)
        except UserWarning as error:
            result = "raised", str(error)
        return result, stream.getvalue()  # what the ops logged, once the call is over

    expected = outcome(program)
    jitted = jit(program)
    for _ in range(2):  # the first call, and one after jit has learned
        assert outcome(jitted) == expected


def test_changing_the_working_directory_back_waits_for_the_op(tmp_path: Path,
                                                             monkeypatch: Any) -> None:
    (tmp_path / "notes.txt").write_text("inside")
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("outside")
    monkeypatch.chdir(home)
    _same(_in_directory, str(tmp_path), "notes.txt")
    assert jit(_in_directory)(str(tmp_path), "notes.txt") == "inside"


def test_the_file_mode_mask_set_back_waits_for_the_op() -> None:
    _same(_umask, f"ember-umask-{os.getpid()}")


def test_a_loggers_level_set_back_waits_for_the_op() -> None:
    _same(_debugged, 3)
    stream.seek(0)
    stream.truncate()
    assert jit(_debugged)(3) == (6, "step 3\n")


def test_a_logger_disabled_by_a_store_and_back_waits_for_the_op() -> None:
    _same(_silenced, 3)


def test_sys_stdout_rebound_back_waits_for_the_op() -> None:
    _same(_captured, 4)
    assert jit(_captured)(4) == (8, "step 4\n")


def test_warning_filters_changed_back_wait_for_the_op() -> None:
    _same(_strict_lazy, 5)
    _same(_strict, 5)


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")
def test_the_time_zone_set_back_waits_for_the_op(monkeypatch: Any) -> None:
    monkeypatch.setenv("TZ", "UTC")
    _same(_in_tokyo, 3600)
    assert jit(_in_tokyo)(3600) == "10:00 JST"
    time.tzset()


def test_tempfile_tempdir_rebound_waits_for_the_op(tmp_path: Path) -> None:
    _same(_tempdir, str(tmp_path))


def test_explain_names_the_setting(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "notes.txt").write_text("inside")
    monkeypatch.chdir(tmp_path)
    program = jit(_in_directory)
    program(str(tmp_path), "notes.txt")
    assert "os.chdir (a setting ops issued before it read)" in explain(program)


def test_async_glue_waits_without_blocking_its_loop(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "notes.txt").write_text("inside")
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("outside")
    monkeypatch.chdir(home)

    async def in_directory(work: str) -> Any:
        old = os.getcwd()
        os.chdir(work)
        text = load("notes.txt")
        os.chdir(old)
        buffer = io.StringIO()
        before, sys.stdout = sys.stdout, buffer
        value = step(2)
        sys.stdout = before
        return text, value, buffer.getvalue()

    expected = ("inside", 4, "step 2\n")
    assert asyncio.run(in_directory(str(tmp_path))) == expected
    assert asyncio.run(jit(in_directory)(str(tmp_path))) == expected
    assert asyncio.run(jit(in_directory)(str(tmp_path))) == expected


def test_reading_a_setting_does_not_wait() -> None:
    import locale

    from ember.xcs.tracing.settings import changes_setting

    assert changes_setting(locale.setlocale, (locale.LC_ALL,), {}) is None
    assert changes_setting(locale.setlocale, (locale.LC_ALL, "C"), {}) == "locale.setlocale"
    assert changes_setting(log.getEffectiveLevel, (), {}) is None
    assert changes_setting(print, (), {}) is None


def test_settings_of_c_modules_are_known_by_their_real_module() -> None:
    """``socket.setdefaulttimeout`` is ``_socket``'s (as ``os.chdir`` is ``posix``'s)."""
    import socket

    from ember.xcs.tracing.settings import changes_setting

    assert changes_setting(socket.setdefaulttimeout, (5.0,), {}) == "socket.setdefaulttimeout"
    assert changes_setting(os.chdir, ("/",), {}) == "os.chdir"
