from __future__ import annotations

import time

import pytest

from ember.xcs.engine.scheduler import Engine, Schedule, Task, TaskState, resolve_tasks
from ember.xcs.ir.graph import NodeKind
from ember.xcs.ops import Op
from tests.concurrency import PeakProbe


def make_task(schedule: Schedule, order: int, fn, *args, deps=(), kind=NodeKind.OP):  # type: ignore[no-untyped-def]
    op = Op(fn) if kind is NodeKind.OP else None
    return Task(schedule, kind=kind, name=f"t{order}", call=op.run if op else fn, args=args,
                kwargs={}, deps=tuple(deps), order=order, location=None, op=op)


@pytest.mark.parametrize("executor", ["thread", "sync"])
def test_dependency_counting(executor: str) -> None:
    schedule = Schedule(Engine(), max_workers=4, executor=executor)
    a = make_task(schedule, 0, lambda: 2)
    b = make_task(schedule, 1, lambda: 3)
    c = make_task(schedule, 2, lambda x, y: x * y, None, None, deps=(a, b))
    c.args = ((a, b), {})
    d = make_task(schedule, 3, lambda x: x + 1, None, deps=(c,), kind=NodeKind.LIFTED)
    d.args = ((c,), {})
    for task in (a, b, c, d):
        schedule.submit(task)
    schedule.wait_all()
    assert [t.state for t in (a, b, c, d)] == [TaskState.DONE] * 4
    assert d.value == 7 and schedule.earliest_failure() is None


def test_max_workers_is_a_hard_cap() -> None:
    schedule = Schedule(Engine(), max_workers=3)
    probe = PeakProbe()
    for i in range(12):
        schedule.submit(make_task(schedule, i, lambda: probe.hold(0.02)))
    schedule.wait_all()
    assert probe.peak == 3


def test_failures_mark_dependents_and_cancel_later_queued_tasks() -> None:
    schedule = Schedule(Engine(), max_workers=1)

    def boom() -> None:
        time.sleep(0.02)
        raise RuntimeError("boom")

    first = make_task(schedule, 0, boom)
    child = make_task(schedule, 1, lambda x: x, None, deps=(first,))
    child.args = ((first,), {})
    later = make_task(schedule, 2, lambda: "never")
    for task in (first, child, later):
        schedule.submit(task)
    schedule.wait_all()
    assert first.state is TaskState.FAILED and isinstance(first.error, RuntimeError)
    assert child.state is TaskState.UPSTREAM and child.upstream is first
    assert later.state is TaskState.CANCELLED
    assert schedule.earliest_failure() is first


def test_resolve_tasks_rebuilds_containers() -> None:
    schedule = Schedule(Engine(), max_workers=1, executor="sync")
    task = make_task(schedule, 0, lambda: 5)
    schedule.submit(task)
    assert resolve_tasks({"a": [task, (task, 1)]}) == {"a": [5, (5, 1)]}


def test_listener_sees_start_end_and_error() -> None:
    events: list[tuple[str, str]] = []
    schedule = Schedule(Engine(), max_workers=2, executor="sync",
                        listener=lambda event, task: events.append((event, task.name)))
    schedule.submit(make_task(schedule, 0, lambda: 1))
    schedule.submit(make_task(schedule, 1, lambda: 1 / 0))
    assert events == [("start", "t0"), ("end", "t0"), ("start", "t1"), ("error", "t1")]
