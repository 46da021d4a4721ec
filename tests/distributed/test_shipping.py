"""ember.xcs.distributed._shipping: an op's outcome travels back as the task's value.

Whatever an op raises, ``SystemExit`` and ``KeyboardInterrupt`` included, comes back
to the caller as plain Python would raise it, once, and Dask's worker never sees a
failed task (so it logs nothing for an exception the program handles).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.xcs import Config, jit
from ember.xcs.distributed import DaskExecutor, dask_executor
from tests.distributed import workload


@pytest.fixture(scope="module")
def threads() -> Iterator[DaskExecutor]:
    """One thread worker in this process."""
    executor = dask_executor(n_workers=1, processes=False)
    yield executor
    executor.shutdown(cancel_futures=True)  # never waits on a task that cannot settle


def _raised(executor: DaskExecutor, kind: str, log: Path) -> BaseException:
    traced = jit(workload.quit_with, config=Config(executor=executor, timeout=30))
    try:
        traced(kind, str(log))
    except BaseException as error:  # SystemExit and KeyboardInterrupt are the point
        return error
    raise AssertionError("the op's exception did not reach the caller")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", ["threads", "processes"])
def test_system_exit_and_keyboard_interrupt_reach_the_caller_once(
        workers: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    executor = request.getfixturevalue("threads" if workers == "threads" else "healthy")
    log = tmp_path / "runs.log"

    exited = _raised(executor, "exit", log)
    interrupted = _raised(executor, "interrupt", log)

    assert type(exited) is SystemExit and exited.code == 3
    assert type(interrupted) is KeyboardInterrupt
    assert len(log.read_text().splitlines()) == 2  # each op ran once, as in plain Python


def test_a_shipped_call_returns_what_the_op_raised() -> None:
    from ember.xcs.distributed._shipping import ShippedCall, load_outcome, pickle_call

    sent = pickle_call("quit_with", workload.quit_with.invoke, (("exit", "/dev/null"), {}), {})

    value, error = load_outcome("quit_with", ShippedCall("quit_with", sent.payload)(), sent)

    assert value is None and type(error) is SystemExit and error.code == 3


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.timeout(60)
def test_an_exception_the_program_handles_is_not_logged_by_the_worker(
        threads: DaskExecutor, healthy: DaskExecutor) -> None:
    records = _Records()
    worker_log = logging.getLogger("distributed.worker")
    worker_log.addHandler(records)
    try:
        on_threads = jit(workload.fields_or_none, config=Config(executor=threads))
        on_processes = jit(workload.fields_or_none, config=Config(executor=healthy))
        assert on_threads(["a", "zz"]) == workload.fields_or_none(["a", "zz"]) == [1, None]
        assert on_processes(["a", "yy"]) == [1, None]
    finally:
        worker_log.removeHandler(records)

    process_logs = [message for logs in healthy.client.get_worker_logs().values()
                    for _, message in logs]
    assert [m for m in records.messages if "look_up_field" in m] == []
    assert [m for m in process_logs if "look_up_field" in m] == []
