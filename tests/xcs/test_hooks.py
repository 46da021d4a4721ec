"""Hooks fire in the documented order with the documented arguments; they never change results."""

from __future__ import annotations

import logging
import threading

import pytest

from ember.xcs import (
    Config,
    autograph,
    execute,
    execution_options,
    jit,
    op,
    register_hook,
    unregister_hook,
)
from ember.xcs.hooks import NodeEvent, registered_hooks
from tests.concurrency import finishes


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def _add(self, *event):
        with self.lock:
            self.events.append(event)

    def on_graph_start(self, name):
        self._add("graph_start", name)

    def on_graph_end(self, name, seconds, error):
        self._add("graph_end", name, seconds, error)

    def on_node_start(self, event):
        self._add("node_start", event)

    def on_node_end(self, event):
        self._add("node_end", event)

    def on_node_error(self, event):
        self._add("node_error", event)

    def on_cache_hit(self, name):
        self._add("cache_hit", name)

    def on_cache_miss(self, name):
        self._add("cache_miss", name)

    def kinds(self):
        return [e[0] for e in self.events]


@op
def first(x):
    return x + 1


@op
def second(x):
    return x * 2


@op
def broken(x):
    raise ValueError(f"broken {x}")


def test_jit_events_in_order_with_arguments():
    hook = Recorder()

    @jit(config=Config(hooks=[hook]))
    def chain(x):
        return second(first(x))

    assert chain(1) == 4
    assert chain(2) == 6
    kinds = hook.kinds()
    one_call = ["graph_start", "node_start", "node_end", "node_start", "node_end"]
    assert kinds == [*one_call, "cache_miss", "graph_end", *one_call, "cache_hit", "graph_end"]
    start, end = hook.events[1][1], hook.events[2][1]
    assert isinstance(start, NodeEvent) and start.name == "first" and start.node == 0
    assert start.duration == 0.0 and end.duration >= 0.0 and end.error is None
    assert start.location is not None and start.location.filename == __file__
    assert hook.events[0] == ("graph_start", chain._name)
    name, seconds, error = hook.events[6][1:]
    assert name == chain._name and seconds > 0 and error is None


def test_jit_failure_reports_node_error_and_graph_end_error():
    hook = Recorder()

    @jit(config=Config(hooks=[hook]))
    def failing(x):
        return broken(x)

    with pytest.raises(ValueError, match="broken 3") as info:
        failing(3)
    kinds = hook.kinds()
    assert kinds[0] == "graph_start" and kinds[-1] == "graph_end"
    assert kinds[1:3] == ["node_start", "node_error"]
    event = hook.events[2][1]
    assert event.name == "broken" and event.error is info.value
    assert hook.events[-1][3] is info.value


def test_execute_events_per_node_and_on_failure():
    hook = Recorder()
    with autograph("pipeline") as graph:
        a = first(1)
        b = second(a)
        c = broken(b)
    options = execution_options(scheduler="sequential", hooks=[hook])
    with pytest.raises(ValueError) as info:
        execute(graph, options=options)
    assert hook.kinds() == ["graph_start", "node_start", "node_end", "node_start", "node_end",
                            "node_start", "node_error", "graph_end"]
    assert hook.events[0] == ("graph_start", "pipeline")
    assert [e[1].node for e in hook.events[1:7]] == [0, 0, 1, 1, 2, 2]
    assert hook.events[6][1].error is info.value
    assert hook.events[-1][1] == "pipeline" and hook.events[-1][3] is info.value
    del c


@pytest.mark.parametrize("scheduler", ["wave", "parallel"])
def test_each_node_starts_before_it_ends_under_concurrency(scheduler):
    hook = Recorder()
    with autograph() as graph:
        values = [first(i) for i in range(6)]
    execute(graph, options=execution_options(scheduler=scheduler, hooks=[hook]))
    kinds = hook.kinds()
    assert kinds[0] == "graph_start" and kinds[-1] == "graph_end"
    for node in range(6):
        positions = [i for i, e in enumerate(hook.events)
                     if e[0].startswith("node") and e[1].node == node]
        assert [hook.events[i][0] for i in positions] == ["node_start", "node_end"]
    del values


def test_raising_hooks_are_reported_and_change_nothing(caplog):
    class Angry:
        def __getattr__(self, name):
            if name.startswith("on_"):
                def fail(*args):
                    raise RuntimeError(f"hook failure in {name}")
                return fail
            raise AttributeError(name)

    calm = Recorder()

    @jit(config=Config(hooks=[Angry(), calm]))
    def chain(x):
        return second(first(x))

    with caplog.at_level(logging.WARNING, logger="ember.xcs"):
        assert chain(5) == 12
        with autograph() as graph:
            z = second(first(5))
        assert execute(graph, options=execution_options(hooks=[Angry(), calm]))["z"] == 12
    assert "hook failure in on_node_start" in caplog.text
    assert "hook failure in on_graph_end" in caplog.text
    assert "node_end" in calm.kinds()  # the other hook still ran after the angry one
    del z


@pytest.mark.parametrize("signal", [SystemExit, KeyboardInterrupt])
def test_a_hook_raising_a_base_exception_on_an_engine_thread_is_ignored(caplog, signal):
    """sys.exit() in an alerting hook used to end the engine thread reporting the node,
    and the call waited forever for it."""
    import time

    class Alerting:
        def on_node_end(self, event):
            raise signal("alerting hook gave up")

    @op
    def slowly(x):
        time.sleep(0.01)
        return x

    fan = jit(lambda: [slowly(i) for i in range(3)], config=Config(hooks=[Alerting()]))
    finished = []
    worker = threading.Thread(target=lambda: finished.append(fan()), daemon=True)
    with caplog.at_level(logging.WARNING, logger="ember.xcs"):
        worker.start()
        worker.join(10)
    assert finished == [[0, 1, 2]]
    assert "alerting hook gave up" in caplog.text


def test_global_registration_runs_first_and_unregisters():
    order = []

    class Named:
        def __init__(self, label):
            self.label = label

        def on_graph_start(self, name):
            order.append(self.label)

    glob = Named("global")
    register_hook(glob)
    try:
        assert glob in registered_hooks()
        jit(lambda x: first(x), config=Config(hooks=[Named("local")]))(1)
    finally:
        unregister_hook(glob)
    assert order == ["global", "local"]
    assert glob not in registered_hooks()
    jit(lambda x: first(x))(1)
    assert order == ["global", "local"]


def test_a_hook_given_twice_hears_each_event_once():
    hook = Recorder()
    register_hook(hook)
    register_hook(hook)
    try:
        assert registered_hooks().count(hook) == 1
        jit(lambda x: second(first(x)), config=Config(hooks=[hook, hook]))(1)
        with autograph() as graph:
            first(1)
        execute(graph, options=execution_options(hooks=[hook]))
    finally:
        unregister_hook(hook)
    kinds = hook.kinds()
    assert kinds.count("graph_start") == 2 and kinds.count("graph_end") == 2
    assert kinds.count("node_start") == 3 and kinds.count("node_end") == 3


def test_every_started_node_ends_when_the_call_times_out():
    """Ops left running at the deadline get one on_node_error (an XCSTimeoutError), at
    the stop; their late outcome adds nothing. on_graph_end hears the timeout."""
    import asyncio
    import time

    from ember.xcs import XCSTimeoutError

    @op
    def slow(x):
        time.sleep(0.3)
        return x

    @op
    async def aslow(x):
        await asyncio.sleep(0.3)
        return x

    for body in (slow, aslow):
        recorder = Recorder()
        timed = jit(lambda body=body: [body(1), body(2)],
                    config=Config(hooks=[recorder], timeout=0.05))
        with pytest.raises(XCSTimeoutError):
            timed()
        time.sleep(0.4)  # the bodies have finished by now
        kinds = recorder.kinds()
        assert kinds.count("node_start") == 2 and kinds.count("node_error") == 2, kinds
        assert "node_end" not in kinds
        errors = [e[1].error for e in recorder.events if e[0] == "node_error"]
        assert all(isinstance(error, XCSTimeoutError) for error in errors)
        assert isinstance(recorder.events[-1][3], XCSTimeoutError)  # graph_end's error


def test_a_call_cancelled_from_outside_is_reported_as_failed():
    import asyncio

    recorder = Recorder()

    @op
    async def waits(x):
        await asyncio.sleep(1)
        return x

    @jit(config=Config(hooks=[recorder]))
    async def gather_all():
        return [await waits(1)]

    async def main():
        await asyncio.wait_for(gather_all(), 0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    graph_end = [e for e in recorder.events if e[0] == "graph_end"]
    assert len(graph_end) == 1 and isinstance(graph_end[0][3], asyncio.CancelledError)


def test_an_op_a_hook_calls_is_a_plain_call_also_once_ops_run_inline():
    from ember.xcs import get_jit_stats

    @op
    def audit(name):
        return f"audited {name}"

    heard = []

    class Audit:
        def on_node_end(self, event):
            heard.append(audit(event.name))  # a str: a plain call, not a node of the call

    @op
    def fetch(x):
        return x + 1

    @jit(config=Config(hooks=[Audit()]))
    def pipeline(xs):
        return [fetch(x) for x in xs]

    def thirty_calls():
        rounds = []
        for _ in range(30):  # fetch, then audit, become inline ops after a few calls
            heard.clear()
            rounds.append((pipeline([1, 2]), list(heard), get_jit_stats(pipeline)["ops"]))
        return rounds

    for result, audits, ops in finishes(thirty_calls):
        assert result == [2, 3]
        assert audits == ["audited fetch", "audited fetch"]
        assert ops == 2  # the hook's calls are not ops of the pipeline


def test_an_op_a_hook_calls_when_an_async_op_starts_is_a_plain_call():
    import asyncio

    from ember.xcs import get_jit_stats

    @op
    def audit(name):
        return f"audited {name}"

    heard = []

    class Audit:
        def on_node_start(self, event):
            heard.append((event.name, audit(event.name)))

    @op
    async def fetch(x):
        await asyncio.sleep(0.001)
        return x + 1

    @jit(config=Config(hooks=[Audit()]))
    def pipeline(xs):
        return [fetch(x) for x in xs]

    assert pipeline([1, 2]) == [2, 3]
    assert heard == [("fetch", "audited fetch")] * 2
    assert get_jit_stats(pipeline)["ops"] == 2


def test_a_jitted_function_a_hook_calls_runs_as_its_own_call():
    import asyncio

    @op
    def audit(name):
        return f"audited {name}"

    @jit
    def audit_both(name):
        return [audit(name), audit(name + "!")]

    heard = []

    class Audit:
        def on_node_start(self, event):
            heard.append(audit_both(event.name))

        def on_node_end(self, event):
            heard.append(audit_both(event.name))

    @op
    def fetch(x):
        return x + 1

    @op
    async def afetch(x):
        await asyncio.sleep(0.001)
        return x + 1

    @jit(config=Config(hooks=[Audit()]))
    def pipeline(xs):
        # Chains of ops run inline and start their successors from a drain loop: a
        # hook's own call must start its ops, not queue them behind the hook.
        fetched = [fetch(fetch(x)) for x in xs]
        return [fetch(y) for y in [afetch(z) for z in fetched]]

    def calls():
        return [pipeline([1, 2, 3]) for _ in range(30)]

    assert finishes(calls) == [[5, 6, 7]] * 30
    assert heard[0] == ["audited fetch", "audited fetch!"]
    assert len(heard) == 30 * 12 * 2


def test_an_async_op_cancelled_after_an_earlier_failure_ends_exactly_once():
    import asyncio
    from collections import Counter

    recorder = Recorder()

    @op
    async def llm(x, fail=False):
        await asyncio.sleep(0.01 if fail else 0.1)  # all three run when one fails
        if fail:
            raise ValueError("invalid input")
        return x

    @jit(config=Config(hooks=[recorder]))
    def pipeline(x):
        return [llm(x), llm(x, fail=True), llm(x + 1)]

    for _ in range(3):
        recorder.events.clear()
        with pytest.raises(ValueError, match="invalid input"):
            pipeline(1)
        starts = Counter(e[1].node for e in recorder.events if e[0] == "node_start")
        ends = Counter(e[1].node for e in recorder.events if e[0] in ("node_end", "node_error"))
        assert starts == ends == Counter({0: 1, 1: 1, 2: 1}), recorder.events
        cancelled = [e[1].error for e in recorder.events
                     if e[0] == "node_error" and e[1].node == 2]
        assert isinstance(cancelled[0], asyncio.CancelledError)
        assert recorder.kinds()[-1] == "graph_end"


def test_a_hook_registered_or_unregistered_while_a_call_runs_hears_all_of_it_or_nothing():
    late, early = Recorder(), Recorder()

    @op
    def registering(x):
        register_hook(late)
        return x

    @op
    def unregistering(x):
        unregister_hook(early)
        return x

    @jit
    def registers(xs):
        return [first(registering(x)) for x in xs]

    @jit
    def unregisters(xs):
        result = first(xs[0])
        return [unregistering(result), first(xs[1])]

    try:
        assert registers([1, 2]) == [2, 3]
    finally:
        unregister_hook(late)
    assert late.kinds() == []  # the call started before it was registered
    register_hook(early)
    try:
        assert unregisters([1, 2]) == [2, 3]
    finally:
        unregister_hook(early)
    kinds = early.kinds()
    assert kinds[0] == "graph_start" and kinds[-1] == "graph_end"
    assert kinds.count("node_start") == kinds.count("node_end") == 3
    assert kinds.count("cache_miss") + kinds.count("cache_hit") == 1


def test_hooks_learn_whether_the_call_they_hear_keeps_no_values():
    from ember.xcs import Presets
    from ember.xcs.hooks import redacting

    heard = []

    class Asks:
        def on_graph_start(self, name):
            heard.append(("graph_start", redacting()))

        def on_node_end(self, event):
            heard.append(("node_end", redacting()))

        def on_graph_end(self, name, seconds, error):
            heard.append(("graph_end", redacting()))

    hook = Asks()
    assert jit(lambda x: first(x), config=Presets.SECURE.replace(hooks=[hook]))(1) == 2
    assert heard == [("graph_start", True), ("node_end", True), ("graph_end", True)]
    heard.clear()
    assert jit(lambda x: first(x), config=Config(hooks=[hook]))(1) == 2
    assert heard == [("graph_start", False), ("node_end", False), ("graph_end", False)]
    assert redacting() is False


def test_a_jitted_call_that_issues_no_op_sends_no_cache_event():
    class Calls(Recorder):
        def on_call_end(self, summary):
            self._add("call_end", summary)

    recorder = Calls()

    @jit(config=Config(hooks=[recorder]))
    def maybe(xs):
        return [first(x) for x in xs]

    assert maybe([1]) == [2]
    assert recorder.kinds()[-3:] == ["cache_miss", "call_end", "graph_end"]
    recorder.events.clear()
    assert maybe([]) == []  # no op, no graph: neither a hit nor a miss (docs/hooks.md)
    assert recorder.kinds() == ["graph_start", "call_end", "graph_end"]
