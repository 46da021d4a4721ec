"""Every scheduler agrees with the reference interpreter on random DAGs."""

from __future__ import annotations

import operator
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.xcs.engine.reference import eval_graph
from ember.xcs.engine.strategies import run_graph, wave_levels
from ember.xcs.errors import GraphError, XCSTimeoutError
from ember.xcs.ir import Graph, GraphBuilder, NodeKind, Var
from ember.xcs.ops import Op

SCHEDULERS = ("sequential", "wave", "parallel")


class NodeFailure(Exception):
    pass


class Counter:
    """Counts op calls per node (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[int, int] = {}
        self.effects: list[int] = []  # the effect ops, in the order they started

    def op(self, index: int, fails: bool, delay: float, effect: bool = False) -> Op:
        def body(*values: int, bias: int) -> int:
            with self.lock:
                self.calls[index] = self.calls.get(index, 0) + 1
                if effect:
                    self.effects.append(index)
            if delay:
                time.sleep(delay)
            if fails:
                raise NodeFailure(f"node {index}")
            return (sum(values) * 31 + bias) % 1_000_003

        return Op(body, name=f"op{index}", effect=effect)


node_spec = st.tuples(
    st.booleans(),  # lifted?
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=3),  # input picks
    st.integers(min_value=0, max_value=100),  # bias
    st.integers(min_value=0, max_value=30),  # 0 means: this op fails
    st.sampled_from([0.0, 0.0, 0.0005, 0.002]),  # delay
    st.integers(min_value=0, max_value=4),  # 0 means: an effect op
)


def build(specs, counter: Counter, with_failures: bool) -> tuple[Graph, dict[Var, int]]:
    builder = GraphBuilder("random")
    inputs = [builder.add_input(f"in{i}") for i in range(2)]
    available = list(inputs)
    outputs = []
    for index, (lifted, picks, bias, fail_roll, delay, effect_roll) in enumerate(specs):
        args = tuple(available[p % len(available)] for p in picks)
        if lifted and args:
            node = builder.add(NodeKind.LIFTED, "add", (args[0], bias), (), fn=operator.add,
                               location=None, deterministic=True)
        else:
            fails = with_failures and fail_roll == 0
            effect = effect_roll == 0
            node = builder.add(NodeKind.OP, f"op{index}", args, (("bias", bias),),
                               fn=counter.op(index, fails, delay, effect), location=None,
                               effect=effect)
        if index % 4 == 3:
            builder.add(NodeKind.BARRIER, "bool", (node.output,), (), fn=None, location=None)
        available.append(node.output)
        outputs.append(node.output)
    return builder.build(outputs), {var: 7 * (i + 1) for i, var in enumerate(inputs)}


def outcome(fn):
    try:
        return "ok", fn()
    except NodeFailure as error:
        return "error", str(error)


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(node_spec, min_size=1, max_size=14), with_failures=st.booleans(),
       max_workers=st.sampled_from([1, 2, 8]))
def test_every_scheduler_equals_the_reference(specs, with_failures, max_workers):
    reference_counter = Counter()
    graph, inputs = build(specs, reference_counter, with_failures)
    expected = outcome(lambda: eval_graph(graph, inputs))
    for scheduler in SCHEDULERS:
        counter = Counter()
        graph, inputs = build(specs, counter, with_failures)
        got = outcome(lambda: run_graph(graph, inputs, scheduler=scheduler,
                                        max_workers=max_workers))
        assert got[0] == expected[0], scheduler
        if expected[0] == "ok":
            assert got[1] == expected[1], scheduler
            assert counter.calls == reference_counter.calls, scheduler  # each op exactly once
        else:
            assert got[1] == expected[1], scheduler  # the same failing node
            assert all(n == 1 for n in counter.calls.values()), scheduler
            assert reference_counter.calls.keys() <= counter.calls.keys(), scheduler
        # Effects in program order, none after a failure: as the reference ran them.
        assert counter.effects == reference_counter.effects, scheduler
        if scheduler == "sequential":
            assert counter.calls == reference_counter.calls


def _chain_graph(delays):
    builder = GraphBuilder()
    previous = None
    for index, delay in enumerate(delays):
        args = (previous,) if previous is not None else ()
        node = builder.add(NodeKind.OP, f"n{index}", args, (),
                           fn=Op(lambda *a, d=delay: time.sleep(d)), location=None)
        previous = node.output
    return builder.build(previous)


def test_wave_levels_put_lifted_nodes_with_their_input():
    builder = GraphBuilder()
    a = builder.add(NodeKind.OP, "a", (), (), fn=Op(lambda: {"k": 1}), location=None)
    b = builder.add(NodeKind.LIFTED, "getitem", (a.output, "k"), (), fn=operator.getitem,
                    location=None)
    c = builder.add(NodeKind.OP, "c", (b.output,), (), fn=Op(lambda v: v), location=None)
    d = builder.add(NodeKind.OP, "d", (), (), fn=Op(lambda: 2), location=None)
    waves = wave_levels(builder.build())
    assert [[n.name for n in wave] for wave in waves] == [["a", "getitem", "d"], ["c"]]
    env = run_graph(builder.build(), {}, scheduler="wave", max_workers=4)
    assert env[c.output.id] == 1 and env[d.output.id] == 2


def test_parallel_overlaps_independent_ops_and_wave_waits_per_level():
    # two chains: slow then fast, fast then slow; critical path 0.25 s
    builder = GraphBuilder()
    for first, second in ((0.2, 0.05), (0.05, 0.2)):
        head = builder.add(NodeKind.OP, "head", (), (), fn=Op(lambda d=first: time.sleep(d)),
                           location=None)
        builder.add(NodeKind.OP, "tail", (head.output,), (),
                    fn=Op(lambda _, d=second: time.sleep(d)), location=None)
    graph = builder.build()
    timings = {}
    for scheduler in ("parallel", "wave", "sequential"):
        started = time.perf_counter()
        run_graph(graph, {}, scheduler=scheduler, max_workers=8)
        timings[scheduler] = time.perf_counter() - started
    assert timings["parallel"] < 0.33  # critical path 0.25
    assert timings["wave"] > 0.38  # two levels of 0.2 each
    assert timings["sequential"] > 0.48


def _effects_graph(log, with_failure):
    """Independent effect writes (the first slowest), after a failing op if asked."""
    def fail():
        time.sleep(0.03)
        raise NodeFailure("declined")

    def write(tag, delay):
        time.sleep(delay)
        log.append(tag)
        return tag

    builder = GraphBuilder()
    builder.add(NodeKind.OP, "lookup", (), (), fn=Op(lambda: 1), location=None)
    builder.add(NodeKind.OP, "lookup", (), (), fn=Op(lambda: 2), location=None)
    if with_failure:
        builder.add(NodeKind.OP, "charge", (), (), fn=Op(fail), location=None)
    for tag, delay in (("a", 0.04), ("b", 0.0), ("c", 0.02)):
        builder.add(NodeKind.OP, "write", (tag, delay), (), fn=Op(write, effect=True),
                    location=None, effect=True)
    return builder.build()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_effect_ops_run_in_program_order(scheduler):
    log: list[str] = []
    run_graph(_effects_graph(log, with_failure=False), {}, scheduler=scheduler, max_workers=8)
    assert log == ["a", "b", "c"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_no_effect_op_starts_after_an_earlier_node_failed(scheduler):
    log: list[str] = []
    with pytest.raises(NodeFailure, match="declined"):
        run_graph(_effects_graph(log, with_failure=True), {}, scheduler=scheduler,
                  max_workers=8)
    assert log == []  # plain Python never reached them


def test_wave_levels_put_an_effect_after_every_earlier_node_and_later_ones_after_it():
    graph = _effects_graph([], with_failure=False)
    assert [[n.id for n in wave] for wave in wave_levels(graph)] == [[0, 1], [2], [3], [4]]


def test_sequential_runs_in_the_calling_thread():
    seen = []
    builder = GraphBuilder()
    builder.add(NodeKind.OP, "where", (), (),
                fn=Op(lambda: seen.append(threading.current_thread())), location=None)
    run_graph(builder.build(), {}, scheduler="sequential", max_workers=4)
    assert seen == [threading.current_thread()]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_timeout_raises(scheduler):
    graph = _chain_graph([0.15, 0.15, 0.15])
    with pytest.raises(XCSTimeoutError):
        run_graph(graph, {}, scheduler=scheduler, max_workers=2, timeout=0.1)


def test_max_workers_caps_concurrency():
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def body():
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1

    builder = GraphBuilder()
    for _ in range(8):
        builder.add(NodeKind.OP, "body", (), (), fn=Op(body), location=None)
    for scheduler in ("wave", "parallel"):
        state["peak"] = 0
        run_graph(builder.build(), {}, scheduler=scheduler, max_workers=2)
        assert state["peak"] == 2, scheduler


def test_unknown_scheduler_and_missing_input():
    builder = GraphBuilder()
    builder.add_input("q")
    with pytest.raises(GraphError, match="q"):
        run_graph(builder.build(), {}, scheduler="parallel", max_workers=1)
    with pytest.raises(GraphError, match="bogus"):
        run_graph(Graph(nodes=()), {}, scheduler="bogus", max_workers=1)
