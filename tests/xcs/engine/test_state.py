"""The run state on its own: transitions driven by hypothesis, invariants checked after each.

No threads, no engine: the test plays the driver, starting what transitions return
and finishing running tasks in an order hypothesis chooses.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from ember.xcs.engine.state import Run
from ember.xcs.engine.task import Limit, Task, TaskState
from ember.xcs.ir.graph import NodeKind

FINAL = (TaskState.DONE, TaskState.FAILED, TaskState.UPSTREAM, TaskState.CANCELLED)


def make_task(run: Run, deps: tuple[Task, ...], lifted: bool, limit: Limit | None) -> Task:
    op = None if lifted else SimpleNamespace(max_concurrency=None, effect=False)
    task = Task(run, kind=NodeKind.LIFTED if lifted else NodeKind.OP, name="t", fn=None,
                args=(), kwargs={}, deps=deps, op=op)
    task.limit = limit
    return task


class Driver:
    """Plays the engine: keeps the running set, carries out limit hand-overs."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.running: list[Task] = []
        # (task, the run's failure when it started): a failure moves to an earlier
        # task when one fails later (it ran because it came first in program order).
        self.started_after_failure: list[tuple[Task, Task]] = []

    def start(self, tasks: list[Task]) -> None:
        for task in tasks:
            assert task.state is TaskState.RUNNING
            if self.run.failure is not None:
                self.started_after_failure.append((task, self.run.failure))
            self.running.append(task)
        grants, _, _ = self.run.outbox.take()
        for waiter in grants:
            self.start(waiter.run.grant(waiter))

    def finish(self, index: int, fail: bool) -> None:
        task = self.running.pop(index % len(self.running))
        outcome = ValueError("boom") if fail else None
        self.start(self.run.finish(task, None if fail else 1, outcome))


def check(run: Run, limits: list[Limit], cap: int | None) -> None:
    tasks = run.tasks
    running = [t for t in tasks if t.state is TaskState.RUNNING and t.kind is not NodeKind.LIFTED]
    assert run.running == len(running)
    if cap is not None:
        assert run.running <= cap
    assert run.unfinished == sum(t.state not in FINAL for t in tasks)
    for task in tasks:
        if task.state in (TaskState.RUNNING, TaskState.DONE, TaskState.FAILED):
            assert all(d.state is TaskState.DONE for d in task.deps), task
        if task.state is TaskState.UPSTREAM:
            assert task.upstream is not None and task.upstream.state is TaskState.FAILED
    for limit in limits:
        holders = [t for t in running if t.limit is limit]
        assert limit.active == len(holders) <= limit.maximum
    if run.failure is not None:
        earlier = [t for t in tasks if t.state is TaskState.FAILED and not t.eager]
        assert run.failure is min(earlier, key=lambda t: t.id)


actions = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.integers(0, 50), max_size=3), st.booleans(),
                  st.integers(0, 2)),
        st.tuples(st.just("finish"), st.integers(0, 50), st.booleans()),
        st.tuples(st.just("stop"),),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(actions=actions, cap=st.sampled_from([None, 1, 2, 3]),
       maxima=st.tuples(st.integers(1, 2), st.integers(1, 3)))
def test_transitions_keep_every_invariant(actions, cap, maxima) -> None:
    run = Run(cap=cap)
    limits = [Limit(maxima[0]), Limit(maxima[1])]
    driver = Driver(run)
    for action in actions:
        if action[0] == "add":
            _, picks, lifted, which = action
            deps = tuple(dict.fromkeys(run.tasks[p % len(run.tasks)] for p in picks)) \
                if run.tasks else ()
            limit = None if lifted or which == 2 else limits[which]
            task = make_task(run, deps, lifted, limit)
            driver.start(run.add(task))
            if task.state is TaskState.RUNNING and task.kind is NodeKind.LIFTED:
                driver.running.remove(task)
                driver.start(run.finish(task, 1, None))
        elif action[0] == "finish" and driver.running:
            driver.finish(action[1], action[2])
        elif action[0] == "stop":
            run.stop("interrupted")
            abandoned = run.outbox.take()[1]
            assert all(t.state is TaskState.CANCELLED for t in abandoned)
            driver.running = [t for t in driver.running if t.state is TaskState.RUNNING]
        check(run, limits, cap)
    # Drain: finishing everything that runs leaves nothing stuck.
    while driver.running:
        driver.finish(0, False)
        check(run, limits, cap)
    assert run.unfinished == 0, [t for t in run.tasks if t.state not in FINAL]
    # Nothing issued after the failure known when it started has started.
    assert all(t.id < failure.id for t, failure in driver.started_after_failure)
    assert all(limit.active == 0 for limit in limits)


def test_a_stopped_run_frees_its_slots_and_cancels_queued_work() -> None:
    limit = Limit(1)
    run = Run(cap=None)
    first = make_task(run, (), False, limit)
    second = make_task(run, (), False, limit)
    assert run.add(first) == [first]
    assert run.add(second) == [] and second.state is TaskState.QUEUED
    run.stop("timeout")
    assert first.state is TaskState.CANCELLED and second.state is TaskState.CANCELLED
    assert limit.active == 0 and not limit.waiting
    assert run.finish(first, 1, None) == []  # a late outcome of an abandoned body is dropped


def test_limits_hand_slots_across_runs() -> None:
    limit = Limit(1)
    one, two = Run(), Run()
    a = make_task(one, (), False, limit)
    b = make_task(two, (), False, limit)
    assert one.add(a) == [a]
    assert two.add(b) == []
    assert one.finish(a, 1, None) == []
    grants = one.outbox.take()[0]
    assert grants == [b] and two.grant(b) == [b] and b.state is TaskState.RUNNING
    assert limit.active == 1
