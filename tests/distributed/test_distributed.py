"""ember.xcs.distributed: jitted programs running their ops on a local Dask cluster.

The package's ``LocalCluster`` (conftest) serves these tests; the one that needs other
scheduler settings starts its own small cluster.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pytest

from ember.xcs import (
    Config,
    ConfigError,
    SerializationError,
    XCSError,
    execution_options,
    jit,
    op,
)
from ember.xcs.cache import MemoryStore, SQLiteStore, counters, reset_counters, use
from ember.xcs.distributed import (
    ClusterError,
    DaskExecutor,
    TaskLostError,
    dask_executor,
)
from tests.distributed import workload
from tests.distributed.conftest import worker_pids

# -- running on the workers ----------------------------------------------------------


def test_fan_out_runs_on_the_worker_processes(healthy: DaskExecutor) -> None:
    traced = jit(lambda xs: [workload.square(x) for x in xs], config=Config(executor=healthy))

    pairs = traced(list(range(8)))

    assert [value for value, _ in pairs] == [x * x for x in range(8)]
    pids = {pid for _, pid in pairs}
    assert os.getpid() not in pids
    workers = worker_pids(healthy)
    assert pids == workers, f"ops ran in {pids}; the workers are {workers}"


def test_fan_out_equals_plain_python(healthy: DaskExecutor) -> None:
    traced = jit(workload.fan_out, config=Config(executor=healthy))

    assert traced([3, 1, 4, 1, 5]) == workload.fan_out([3, 1, 4, 1, 5])
    assert traced([2, 7]) == workload.fan_out([2, 7])  # changed input, second call


def test_dependent_ops_equal_plain_python(healthy: DaskExecutor) -> None:
    traced = jit(workload.diamond, config=Config(executor=healthy))

    assert traced(3) == workload.diamond(3) == {"left": 10, "right": 11, "bottom": 21}


# -- the result cache is consulted in the caller ---------------------------------------


def _runs(log: Path) -> list[tuple[str, int, int]]:
    """``(op, item, pid)`` for every run of a body that wrote to ``log``."""
    if not log.exists():
        return []
    return [(op, int(x), int(pid)) for op, x, pid in
            (line.split() for line in log.read_text().splitlines())]


def test_result_cache_is_consulted_in_the_caller_before_shipping(
    healthy: DaskExecutor, tmp_path: Path
) -> None:
    log = tmp_path / "paid.log"
    store = MemoryStore()  # lives in this process only: no worker could reach it
    traced = jit(workload.priced_then_judged,
                 config=Config(executor=healthy, result_cache=store))
    reset_counters()

    assert traced([1, 2, 3], str(log)) == [2, 5, 10]
    first = _runs(log)
    assert sorted((op, x) for op, x, _ in first) == [
        ("judged", 1), ("judged", 4), ("judged", 9), ("priced", 1), ("priced", 2), ("priced", 3)]
    assert {pid for _, _, pid in first} <= worker_pids(healthy)  # bodies ran on the workers
    seen = counters()["by_op"]  # counted here, in the caller
    assert seen["priced"]["misses"] == seen["priced"]["writes"] == 3
    assert seen["judged"]["misses"] == seen["judged"]["writes"] == 3  # dependent ops too
    assert store.summary().entries == 6

    assert traced([1, 2, 3], str(log)) == [2, 5, 10]
    assert _runs(log) == first, "a hit must not be shipped to a worker"
    assert counters()["hits"] == 6

    assert traced([3, 4], str(log)) == [10, 17]
    assert sorted((op, x) for op, x, _ in _runs(log)[len(first):]) == [
        ("judged", 16), ("priced", 4)]  # only the new item paid


def test_cache_use_block_and_the_default_file_are_the_callers(
    healthy: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "paid.log"
    traced = jit(workload.priced_then_judged, config=Config(executor=healthy))
    with use(tmp_path / "block.sqlite"):
        assert traced([5], str(log)) == [26]
        assert traced([5], str(log)) == [26]
    assert len(_runs(log)) == 2  # one run of each op: the second call hit both
    assert SQLiteStore(tmp_path / "block.sqlite").summary().entries == 2

    # No cache active: cache=None ops run every time; cache=True ones use the default
    # file of this process (where $EMBER_XCS_CACHE points), never one on a worker.
    monkeypatch.setenv("EMBER_XCS_CACHE", str(tmp_path / "default.sqlite"))
    assert traced([7], str(log)) == [50]
    assert traced([7], str(log)) == [50]
    assert sorted(op for op, x, _ in _runs(log)[2:]) == ["judged", "judged", "priced"]
    assert SQLiteStore(tmp_path / "default.sqlite").summary().entries == 1


def test_user_exception_keeps_its_type_and_message(healthy: DaskExecutor) -> None:
    traced = jit(workload.first_failure_wins, config=Config(executor=healthy))

    with pytest.raises(workload.WorkloadError) as plain:
        workload.first_failure_wins([1, 2, 3], 2)
    with pytest.raises(workload.WorkloadError) as remote:
        traced([1, 2, 3], 2)

    assert type(remote.value) is workload.WorkloadError
    assert str(remote.value) == str(plain.value) == "item 2 is bad"
    assert any("fail_on" in note for note in getattr(remote.value, "__notes__", []))


def test_builtin_exception_from_a_worker_keeps_its_type(healthy: DaskExecutor) -> None:
    traced = jit(lambda a, b: workload.ratio(a, b), config=Config(executor=healthy))

    with pytest.raises(ZeroDivisionError, match="division by zero"):
        traced(1, 0)


def test_coroutine_ops_run_on_the_workers(healthy: DaskExecutor) -> None:
    traced = jit(lambda xs: [workload.fetch(x) for x in xs], config=Config(executor=healthy))

    pairs = traced([1, 2, 3])

    assert [value for value, _ in pairs] == [2, 3, 4]
    assert os.getpid() not in {pid for _, pid in pairs}


def test_connect_by_address_to_a_running_scheduler(healthy: DaskExecutor) -> None:
    with dask_executor(healthy.address, connect_timeout=5) as remote:
        assert remote.address == healthy.address
        traced = jit(workload.fan_out, config=Config(executor=remote))
        assert traced([1, 2]) == [1, 4, 5]
    # Closing a connection must leave the cluster it connected to running.
    assert healthy.worker_count() == 2


def test_wrapping_an_existing_client_leaves_it_open(healthy: DaskExecutor) -> None:
    executor = DaskExecutor(healthy.client)
    future = executor.submit(workload.add.invoke, (2, 3), {})
    assert future.result(timeout=30) == 5
    executor.shutdown()

    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(workload.add.invoke, (1, 1), {})
    assert healthy.client.status == "running"


def test_a_call_after_the_executor_was_shut_down_says_so_with_the_fix(
    healthy: DaskExecutor,
) -> None:
    # A notebook's usual slip: the function was jitted inside `with dask_executor()`
    # and called again after the block ended.
    executor = DaskExecutor(healthy.client)
    traced = jit(workload.fan_out, config=Config(executor=executor))
    assert traced([2]) == workload.fan_out([2])
    executor.shutdown()

    with pytest.raises(ClusterError, match="after shutdown") as raised:
        traced([2])
    assert isinstance(raised.value, RuntimeError)
    assert "Call the jitted function inside that block" in str(raised.value)
    assert "f.with_config(executor=...)" in str(raised.value)


def test_a_raw_client_or_its_executor_is_refused_with_the_wrapper_to_use(
        healthy: DaskExecutor, tmp_path: Path) -> None:
    # Dask's own submit merges equal calls (pure=True): three equal calls would run once.
    client = healthy.client
    for raw in (client, client.get_executor()):
        with pytest.raises(ConfigError, match=r"Pass DaskExecutor\(client\) instead"):
            Config(executor=raw)
        with pytest.raises(ConfigError, match="identical op calls"):
            execution_options(executor=raw)
    log = tmp_path / "runs.log"
    wrapped = jit(workload.counted_batch, config=Config(executor=DaskExecutor(client)))
    assert wrapped([1, 1, 1], str(log), 0.0) == [10, 10, 10]
    assert len(log.read_text().splitlines()) == 3


def _listening_addresses(pids: set[int]) -> set[str]:
    """``host:port`` of every TCP socket in LISTEN state owned by ``pids`` (Linux /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host, port = fields[1].split(":")
                found.add(f"{bytes.fromhex(host)[::-1].hex() if len(host) == 8 else host}"
                          f":{int(port, 16)}")
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux /proc/net/tcp")
@pytest.mark.parametrize("processes", [True, False])
def test_a_local_cluster_listens_on_loopback_only(processes: bool) -> None:
    with dask_executor(n_workers=1, processes=processes) as local:
        pids = {os.getpid(), *local.client.run(os.getpid).values()}
        addresses = _listening_addresses(pids)

    assert addresses, "no listening socket found: the check itself is broken"
    loopback_v4 = "7f000001"  # 127.0.0.1
    assert all(address.startswith(loopback_v4 + ":") for address in addresses), addresses


# -- serialisation --------------------------------------------------------------------


def test_unpicklable_argument_names_the_op_and_the_argument(healthy: DaskExecutor) -> None:
    traced = jit(lambda guard: workload.add(guard, 1), config=Config(executor=healthy))

    with pytest.raises(SerializationError) as caught:
        traced(threading.Lock())

    message = str(caught.value)
    assert "op 'add'" in message
    assert "positional argument 0 (lock)" in message
    assert "cannot pickle" in message


def test_unpicklable_closure_variable_is_named(healthy: DaskExecutor) -> None:
    guard = threading.Lock()

    @op
    def locked_double(x: int) -> int:
        with guard:
            return 2 * x

    traced = jit(lambda x: locked_double(x), config=Config(executor=healthy))

    with pytest.raises(SerializationError, match=r"op 'locked_double'.*closure variable 'guard'"):
        traced(4)
    assert locked_double(4) == 8  # the op itself is fine outside the cluster


def test_unpicklable_result_is_a_serialization_error_not_a_hang(healthy: DaskExecutor) -> None:
    traced = jit(lambda x: workload.make_lock(x), config=Config(executor=healthy, timeout=30))
    started = time.monotonic()

    with pytest.raises(SerializationError, match=r"op 'make_lock' returned a lock that cannot"):
        traced(1)
    assert time.monotonic() - started < 10


def test_exception_with_unpicklable_attributes_keeps_type_and_message(
    healthy: DaskExecutor,
) -> None:
    traced = jit(lambda x: workload.raise_holding(x), config=Config(executor=healthy))

    with pytest.raises(workload.HoldingError, match="item 3 holds a lock") as caught:
        traced(3)
    assert type(caught.value) is workload.HoldingError
    assert any("guard" in note and "dropped" in note for note in caught.value.__notes__)


def test_op_module_missing_on_the_workers_is_a_serialization_error(
    healthy: DaskExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module only this process can import: the workers started before it existed.
    # Its plain function is pickled by reference (an @op-decorated one would travel by
    # value, because the module attribute is the Op, not the function).
    (tmp_path / "caller_only_ops.py").write_text(textwrap.dedent("""
        def triple(x):
            return 3 * x
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import caller_only_ops  # type: ignore[import-not-found]

    triple = op(caller_only_ops.triple)
    traced = jit(lambda x: triple(x), config=Config(executor=healthy))

    with pytest.raises(SerializationError, match=r"op 'triple' could not be loaded on the Dask"):
        traced(2)
    cloudpickle.register_pickle_by_value(caller_only_ops)
    try:
        assert traced(2) == 6  # the fix the message names works
    finally:
        cloudpickle.unregister_pickle_by_value(caller_only_ops)
        sys.modules.pop("caller_only_ops", None)


# -- the cluster going wrong ----------------------------------------------------------


def _wait_for_line(log: Path, text: str, seconds: float = 20) -> bool:
    """Wait until the op log contains ``text``; ``False`` if it never did."""
    deadline = time.monotonic() + seconds
    while not (log.exists() and text in log.read_text()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _kill_when_started(log: Path, victim: int) -> threading.Thread:
    """Kill ``victim`` as soon as the log shows it started an op (mid-batch)."""

    def watch() -> None:
        if _wait_for_line(log, f" {victim}\n"):
            os.kill(victim, signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


class _DeliveryClock(concurrent.futures.Executor):
    """Hands submissions to ``inner`` and notes when each result reached the caller."""

    def __init__(self, inner: concurrent.futures.Executor) -> None:
        self.inner = inner
        self.delivered: dict[int, float] = {}  # op result -> wall clock at delivery

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        future = self.inner.submit(fn, *args, **kwargs)
        future.add_done_callback(self._note)
        return future

    def _note(self, future: concurrent.futures.Future[int]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.delivered[future.result()] = time.time()


def _end_lines(log: Path) -> list[tuple[int, int, float]]:
    """``(item, pid, wall clock)`` for every finished run that ``counted_slow`` logged."""
    rows = [line.split() for line in log.read_text().splitlines() if line.startswith("end ")]
    return [(int(item), int(pid), float(when)) for _, item, pid, when in rows]


@pytest.mark.timeout(90)
def test_killing_a_worker_reruns_only_ops_that_had_not_finished(
    healthy: DaskExecutor, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    items = list(range(40))
    clock = _DeliveryClock(DaskExecutor(healthy.client))
    traced = jit(workload.counted_batch, config=Config(executor=clock, timeout=60))
    victim = min(worker_pids(healthy))
    killed_at: list[float] = []

    def kill_two_seconds_in() -> None:
        started = time.monotonic()
        while not (log.exists() and log.read_text()):  # the first op has finished
            assert time.monotonic() - started < 30, "no op finished"
            time.sleep(0.01)
        time.sleep(1.5)  # about 2 s into the batch: each worker has finished a few ops
        killed_at.append(time.time())
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_two_seconds_in, daemon=True)
    killer.start()
    started = time.monotonic()
    results = traced(items, str(log), 0.5)
    killer.join()

    assert time.monotonic() - started < 45, "the batch hung after the worker died"
    assert results == [x * 10 for x in items]
    runs = _end_lines(log)
    count = {item: sum(run[0] == item for run in runs) for item in items}
    assert all(count[item] >= 1 for item in items)
    kill = killed_at[0]
    on_victim = {item for item, pid, when in runs if pid == victim and when < kill}
    assert len(on_victim) >= 2, f"the victim finished {len(on_victim)} ops before the kill"
    # Finished well before the kill (its result had time to travel): never run again.
    settled = {item for item, _, when in runs if when < kill - 0.3}
    assert on_victim & settled, "no op of the victim finished well before the kill"
    reruns = {item: count[item] for item in settled if count[item] != 1}
    assert not reruns, f"ops that finished before the kill ran again: {reruns}"
    # Delivered to the caller before the kill: never run again, however close to it.
    delivered = {value // 10 for value, when in clock.delivered.items() if when < kill}
    assert {item for item in delivered if count[item] != 1} == set()
    # Ops the dead worker had not finished ran to completion exactly once elsewhere.
    assert all(count[item] <= 2 for item in items)


@pytest.mark.timeout(60)
def test_worker_lost_beyond_allowed_failures_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "ops.log"
    with dask_executor(n_workers=1, allowed_failures=0) as strict:
        victim = next(iter(worker_pids(strict)))
        traced = jit(lambda xs: [workload.logged_slow(x, str(log), 1.0) for x in xs],
                     config=Config(executor=strict, timeout=45))
        killer = _kill_when_started(log, victim)

        with pytest.raises(TaskLostError) as caught:
            traced([0, 1])
        killer.join()

    assert "op 'logged_slow'" in str(caught.value)
    assert "allowed_failures" in str(caught.value)
    with pytest.raises(RuntimeError, match="after shutdown"):
        strict.submit(workload.add.invoke, (1, 1), {})


def _cancel_mid_call(executor: DaskExecutor, log: Path, seconds: float,
                     items: int) -> tuple[list[BaseException], float]:
    """Run slow ops through ``executor`` and shut it down (cancelling) once one started.

    Returns what the call raised and the seconds from shutdown to the call's end.
    """
    traced = jit(lambda xs: [workload.logged_slow(x, str(log), seconds) for x in xs],
                 config=Config(executor=executor, timeout=45))
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            traced(list(range(items)))
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert _wait_for_line(log, "start"), "no op started"
    started = time.monotonic()
    executor.shutdown(cancel_futures=True)
    caller.join(30)
    assert not caller.is_alive(), "the call did not end after shutdown"
    return outcome, time.monotonic() - started


@pytest.mark.timeout(60)
def test_shutdown_with_cancel_ends_a_running_call_with_a_clear_error(
    healthy: DaskExecutor, tmp_path: Path
) -> None:
    executor = DaskExecutor(healthy.client)  # cancels only its own tasks

    outcome, elapsed = _cancel_mid_call(executor, tmp_path / "ops.log", 2.0, items=4)

    assert elapsed < 1.5  # did not wait for the 2 s ops
    assert len(outcome) == 1 and isinstance(outcome[0], TaskLostError)
    assert "op 'logged_slow' was cancelled" in str(outcome[0])


@pytest.mark.timeout(60)
def test_shutting_down_an_owned_cluster_mid_call_settles_every_op(tmp_path: Path) -> None:
    local = dask_executor(n_workers=1)

    outcome, elapsed = _cancel_mid_call(local, tmp_path / "ops.log", 5.0, items=3)

    assert elapsed < 4.5  # did not wait for the 5 s ops
    assert len(outcome) == 1 and isinstance(outcome[0], TaskLostError)
    assert "op 'logged_slow'" in str(outcome[0])
    assert local.client.status == "closed"


@pytest.fixture
def standalone_scheduler(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A `dask scheduler` and one `dask worker` as separate processes, on 127.0.0.1."""
    info = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--scheduler-file",
         str(info)], **quiet)
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 30
        while not (info.exists() and info.read_text().strip().endswith("}")):
            assert time.monotonic() < deadline, "the dask scheduler did not start"
            assert scheduler.poll() is None, "the dask scheduler exited at start"
            time.sleep(0.05)
        address = json.loads(info.read_text())["address"]
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1",
             "--nthreads", "1", "--no-dashboard", "--no-nanny"], **quiet))
        yield address, scheduler
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)


@pytest.mark.timeout(60)
def test_scheduler_lost_mid_call_is_a_clear_error(
    standalone_scheduler: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    address, scheduler = standalone_scheduler
    log = tmp_path / "ops.log"
    with dask_executor(address, connect_timeout=10) as remote:
        remote.client.wait_for_workers(1, timeout=30)
        traced = jit(lambda xs: [workload.logged_slow(x, str(log), 3.0) for x in xs],
                     config=Config(executor=remote, timeout=45))
        watcher = threading.Thread(target=_kill_scheduler_when_started, args=(log, scheduler))
        watcher.start()
        started = time.monotonic()

        with pytest.raises(TaskLostError) as caught:
            traced([0, 1])
        watcher.join()

    assert time.monotonic() - started < 20
    assert "op 'logged_slow' was cancelled" in str(caught.value)
    assert address in str(caught.value)


def _kill_scheduler_when_started(log: Path, scheduler: subprocess.Popen[bytes]) -> None:
    if _wait_for_line(log, "start"):
        scheduler.kill()


# -- installation and arguments -------------------------------------------------------


def test_import_ember_xcs_does_not_import_dask() -> None:
    code = (
        "import sys, ember.xcs\n"
        "from ember.xcs import dask_executor\n"
        "loaded = sorted(m for m in ('dask', 'distributed', 'cloudpickle') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)

    with pytest.raises(XCSError, match=r"ember-xcs\[dask\]"):
        dask_executor()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"n_workers": 0}, "n_workers"),
        ({"threads_per_worker": 1.5}, "threads_per_worker"),
        ({"allowed_failures": -1}, "allowed_failures"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"address": 8786}, "address"),
    ],
)
def test_bad_arguments_fail_before_starting_anything(arguments: dict[str, object],
                                                     field: str) -> None:
    with pytest.raises(XCSError, match=field):
        dask_executor(**arguments)  # type: ignore[arg-type]


def test_docstring_examples_run() -> None:
    import doctest

    from ember.xcs.distributed import _cluster

    results = doctest.testmod(_cluster, optionflags=doctest.ELLIPSIS)
    assert results.attempted >= 2
    assert results.failed == 0


def test_thread_workers_run_ops_in_this_process() -> None:
    with dask_executor(n_workers=1, processes=False) as in_process:
        traced = jit(lambda xs: [workload.square(x) for x in xs],
                     config=Config(executor=in_process))
        assert traced([1, 2]) == [(1, os.getpid()), (4, os.getpid())]


def test_shutdown_releases_threads_and_connections() -> None:
    def one_cluster() -> None:
        with dask_executor(n_workers=1, processes=False) as local:
            assert jit(workload.fan_out, config=Config(executor=local))([3]) == [9, 9]

    one_cluster()  # Dask starts a few process-wide threads once
    before = {thread.ident for thread in threading.enumerate()}
    one_cluster()
    deadline = time.monotonic() + 10
    while (left := {t.name for t in threading.enumerate() if t.ident not in before}):
        assert time.monotonic() < deadline, f"threads left running: {sorted(left)}"
        time.sleep(0.05)


def test_exception_whose_arguments_cannot_travel_keeps_its_type_and_message() -> None:
    import pickle

    from ember.xcs.distributed._shipping import sendable_exception

    lock = threading.Lock()
    unsendable = ValueError(lock)
    replaced = pickle.loads(pickle.dumps(sendable_exception("score", unsendable)))

    assert type(replaced) is ValueError and str(replaced) == str(unsendable)
    assert "args that do not pickle (kept as their repr)" in replaced.__notes__[0]
    assert "the Dask worker running op 'score'" in replaced.__notes__[0]
    plain = KeyError("fine")
    assert sendable_exception("score", plain) is plain
