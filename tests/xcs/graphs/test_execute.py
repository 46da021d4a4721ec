"""execute(): schedulers, output_nodes pruning, placeholders, contextual errors."""

from __future__ import annotations

import threading
import time

import pytest

from ember.xcs import (
    ConfigError,
    GraphError,
    autograph,
    execute,
    execution_options,
    op,
    placeholder,
)
from ember.xcs.graphs import ExecutionOptions, current_execution_options

counts: dict[str, int] = {}
_lock = threading.Lock()


def _count(name):
    with _lock:
        counts[name] = counts.get(name, 0) + 1


@op
def op1(*, inputs):
    _count("op1")
    return {"text": inputs["query"] + "!"}


@op
def op2(*, inputs):
    _count("op2")
    return {"text": inputs["text"] + "?"}


@op
def op3(*, inputs):
    _count("op3")
    return inputs["text"].upper()


@op
def side(*, inputs):
    _count("side")
    return len(inputs["text"])


@pytest.fixture(autouse=True)
def _reset():
    counts.clear()


def _seed_graph():
    with autograph() as graph:
        x = op1(inputs={"query": "Example"})
        y = op2(inputs=x)
        z = op3(inputs=y)
        w = side(inputs=x)
    del w, z
    return graph


def test_seed_example_runs_as_written():
    graph = _seed_graph()
    opts = execution_options(max_workers=4, scheduler="parallel")
    results = execute(graph, options=opts)
    assert results["z"] == "EXAMPLE!?"
    assert f"Final result: {results['z']}" == "Final result: EXAMPLE!?"
    assert counts == {"op1": 1, "op2": 1, "op3": 1, "side": 1}


def test_output_nodes_runs_only_what_y_needs():
    graph = _seed_graph()
    subset = execute(graph, output_nodes=["y"])
    assert subset == {"y": {"text": "Example!?"}}
    assert counts == {"op1": 1, "op2": 1}


@pytest.mark.parametrize("scheduler", ["sequential", "wave", "parallel", "auto"])
def test_graphs_are_reexecutable_with_every_scheduler(scheduler):
    graph = _seed_graph()
    first = execute(graph, options=execution_options(scheduler=scheduler))
    second = execute(graph, options=execution_options(scheduler=scheduler))
    assert first == second == {"x": {"text": "Example!"}, "y": {"text": "Example!?"},
                               "z": "EXAMPLE!?", "w": 8}
    assert counts == {"op1": 2, "op2": 2, "op3": 2, "side": 2}


def test_placeholders_bind_new_inputs_each_time():
    with autograph() as graph:
        x = op1(inputs={"query": placeholder("query")})
        z = op3(inputs=op2(inputs=x))
    assert execute(graph, inputs={"query": "a"})["z"] == "A!?"
    assert execute(graph, inputs={"query": "b"})["z"] == "B!?"
    with pytest.raises(GraphError, match="'query'"):
        execute(graph)
    with pytest.raises(GraphError, match="unknown input.*'qurey'"):
        execute(graph, inputs={"query": "a", "qurey": "b"})
    with pytest.raises(GraphError, match="needs a dict of placeholder names.*'query'"):
        execute(graph, inputs="a")
    del z


def test_a_dict_as_the_second_argument_is_the_inputs_as_in_pyember():
    with autograph() as graph:
        z = op3(inputs=op1(inputs={"query": placeholder("query")}))
    assert execute(graph, {"query": "a"}) == {"z": "A!"}
    assert execute(graph, {"query": "b"}, ["z"]) == {"z": "B!"}
    with pytest.raises(GraphError, match=r"2nd argument.*and inputs=\.\.\. as well"):
        execute(graph, {"query": "a"}, inputs={"query": "b"})
    with pytest.raises(GraphError, match=r"'max_workers'.*execution_options.*go in options="):
        execute(graph, {"query": "a", "max_workers": 4})
    del z


def test_output_nodes_given_a_symbol_names_the_variable_to_pass():
    with autograph() as graph:
        x = op1(inputs={"query": placeholder("query")})
        answer = op3(inputs=x)
        same = answer
    for wrong in ([answer], answer, [same], ("answer", answer)):
        with pytest.raises(GraphError) as info:
            execute(graph, output_nodes=wrong, inputs={"query": "a"})
        message = str(info.value)
        assert "output_nodes=...) takes the names" in message
        assert "pass output_nodes=['answer']" in message
        assert "inside autograph()" not in message
    with pytest.raises(GraphError, match=r"got 3: pass output_nodes=\['x'\]"):
        execute(graph, output_nodes=[3], inputs={"query": "a"})
    assert execute(graph, output_nodes="answer", inputs={"query": "a"}) == {"answer": "A!"}
    del same


def test_pruning_drops_unneeded_placeholders():
    with autograph() as graph:
        a = op1(inputs={"query": placeholder("first")})
        b = op1(inputs={"query": placeholder("second")})
    assert execute(graph, output_nodes=["a"], inputs={"first": "1"}) == {"a": {"text": "1!"}}
    del a, b


def test_unknown_output_node_lists_the_names():
    graph = _seed_graph()
    with pytest.raises(GraphError, match="'nope'.*'x', 'y', 'z', 'w'"):
        execute(graph, output_nodes=["nope"])


def test_options_as_context_manager_apply_to_execute():
    threads = []

    @op
    def where():
        threads.append(threading.current_thread())

    with autograph() as graph:
        a = where()
        b = where()
    with execution_options(scheduler="sequential") as opts:
        assert current_execution_options() is opts
        execute(graph)
    assert threads == [threading.current_thread()] * 2
    assert current_execution_options().scheduler == "auto"
    del a, b


def test_nested_option_blocks_and_bad_values():
    with execution_options(scheduler="wave"):
        with execution_options(scheduler="sequential"):
            assert current_execution_options().scheduler == "sequential"
        assert current_execution_options().scheduler == "wave"
    with pytest.raises(ConfigError, match="scheduler"):
        execution_options(scheduler="fastest")
    with pytest.raises(ConfigError, match="max_workers"):
        execution_options(max_workers=0)
    with pytest.raises(ConfigError, match="timeout"):
        execution_options(timeout=-1)
    with pytest.raises(GraphError, match="execution_options"):
        execute(_seed_graph(), options={"scheduler": "wave"})


@pytest.mark.parametrize("scheduler", ["sequential", "wave", "parallel"])
def test_failure_raises_original_exception_with_node_note(scheduler):
    @op
    def explode(value):
        raise LookupError(f"no such thing: {value['text']}")

    with autograph() as graph:
        x = op1(inputs={"query": "q"})
        bad = explode(x)
        later = op3(inputs=x)
    with pytest.raises(LookupError, match="no such thing: q!") as info:
        execute(graph, options=execution_options(scheduler=scheduler))
    note = info.value.__notes__[-1]
    assert "node #1 explode" in note
    assert "op <xcs op explode>" in note
    assert "variable 'bad'" in note
    assert __file__ in note
    del bad, later


def test_earliest_failure_in_program_order_wins():
    @op
    def slow_fail():
        time.sleep(0.1)
        raise ValueError("first in program order")

    @op
    def fast_fail():
        raise KeyError("second")

    with autograph() as graph:
        a = slow_fail()
        b = fast_fail()
    with pytest.raises(ValueError, match="first in program order"):
        execute(graph, options=execution_options(scheduler="parallel"))
    del a, b


def test_parallel_runs_independent_ops_concurrently():
    @op
    def nap(i):
        time.sleep(0.1)
        return i

    with autograph() as graph:
        items = [nap(i) for i in range(8)]  # noqa: F841 - read back by name
    started = time.perf_counter()
    assert execute(graph, options=execution_options(scheduler="parallel"))["items"] == list(
        range(8))
    assert time.perf_counter() - started < 0.5  # 0.8 s sequentially


def test_a_graph_recorded_by_jit_is_the_program_of_that_call() -> None:
    from ember.xcs import Config, jit
    from ember.xcs.api.stats import _stats_of
    from ember.xcs.engine.reference import eval_graph

    @op
    def ask(prompt):
        return f"answer to {prompt}"

    @op
    def judge(a, b):
        return f"best of [{a}] and [{b}]"

    @jit
    def pipeline(question):
        first = ask(f"Q: {question}")
        second = ask(question.upper())
        return {"verdict": judge(first, second), "first": first}

    result = pipeline("why")
    graph = _stats_of(pipeline).last.graph
    # Every value that came from an op is an edge, not a literal baked in.
    assert "judge(a, b)" in str(graph).replace("\n", " ")
    env = eval_graph(graph, dict(graph.recorded_inputs))  # the reference interpreter agrees
    from ember.xcs.ir.graph import map_vars

    assert map_vars(graph.outputs, lambda var: env[var.id]) == result
    assert execute(graph) == result
    with pytest.raises(GraphError, match="cannot run on other inputs"):
        execute(graph, inputs={"question": "second"})

    secure = jit(pipeline.__wrapped__, config=Config(redact=True))
    secure("why")
    with pytest.raises(GraphError, match="redact=True"):
        execute(_stats_of(secure).last.graph)


@op
def slow_step(x):
    time.sleep(0.15)
    return x


@pytest.mark.parametrize("scheduler", ["auto", "sequential", "wave", "parallel"])
def test_a_timeout_holds_with_every_scheduler_even_for_the_last_node(scheduler):
    from ember.xcs import XCSTimeoutError

    with autograph() as graph:
        slow_step(1)
    with pytest.raises(XCSTimeoutError, match="timeout=0.05"):
        execute(graph, options=execution_options(timeout=0.05, scheduler=scheduler))


def test_nested_blocks_set_only_what_they_give_and_hooks_add_up():
    class Count:
        def __init__(self):
            self.starts = 0

        def on_graph_start(self, name):
            self.starts += 1

    outer_hook, inner_hook = Count(), Count()
    with execution_options(max_workers=3, timeout=30.0, hooks=[outer_hook]):
        with execution_options(scheduler="sequential", hooks=[inner_hook]):
            effective = current_execution_options()
            assert (effective.max_workers, effective.timeout, effective.scheduler) == (
                3, 30.0, "sequential")
            execute(_seed_graph())
        # options passed to execute lay over the block's the same way
        with execution_options(scheduler="wave"):
            laid = execution_options(max_workers=1)
            assert current_execution_options().max_workers == 3
            execute(_seed_graph(), options=laid)
        assert current_execution_options().scheduler == "auto"
    assert (outer_hook.starts, inner_hook.starts) == (2, 1)
    # a value given explicitly, default or not, is set: max_workers=None is 64 again
    with execution_options(max_workers=2), execution_options(max_workers=None):
        assert current_execution_options().workers == 64
    # an ExecutionOptions built directly is complete: it replaces every setting
    with execution_options(max_workers=2), ExecutionOptions(scheduler="wave"):
        assert current_execution_options().max_workers is None


def test_an_unknown_setting_names_the_closest_valid_one():
    with pytest.raises(ConfigError, match=r"'max_worker' \(did you mean 'max_workers'\?\)"):
        execution_options(max_worker=4)
    with pytest.raises(ConfigError, match="'use_parallel'; valid settings are: executor"):
        execution_options(use_parallel=True)


_written: list[str] = []


@op(effect=True)
def _write(tag, delay):
    time.sleep(delay)
    _written.append(tag)
    return tag


@op
def _lookup(x):
    time.sleep(0.01)
    return x


@op
def _charge(x):
    time.sleep(0.03)
    raise ValueError("card declined")


@pytest.mark.parametrize("scheduler", ["auto", "sequential", "wave", "parallel"])
def test_effect_ops_keep_program_order_under_every_scheduler(scheduler):
    with autograph() as graph:
        _lookup(1)  # two independent ops: auto picks parallel
        _lookup(2)
        _write("a", 0.04)
        _write("b", 0.0)
        _write("c", 0.02)
    _written.clear()
    execute(graph, options=execution_options(scheduler=scheduler))
    assert _written == ["a", "b", "c"]


@pytest.mark.parametrize("scheduler", ["auto", "sequential", "wave", "parallel"])
def test_an_effect_op_after_a_failing_node_never_starts(scheduler):
    with autograph() as graph:
        x = _lookup(1)
        _charge(x)
        _write("receipt sent", 0.0)  # plain Python never gets here
    _written.clear()
    with pytest.raises(ValueError, match="card declined"):
        execute(graph, options=execution_options(scheduler=scheduler))
    assert _written == []


@op(effect=True)
def _enqueue(queue, item, *, log):
    queue.append(item)
    log[item] = len(queue)
    return len(queue)


@pytest.mark.parametrize("scheduler", ["sequential", "wave", "parallel"])
def test_an_effect_op_changes_the_objects_it_was_given_as_under_jit(scheduler):
    outbox, log = [], {}
    with autograph() as graph:
        n = _enqueue(outbox, _lookup("job"), log=log)  # noqa: F841 - read back by name
    assert execute(graph, options=execution_options(scheduler=scheduler)) == {"n": 1}
    assert outbox == ["job"] and log == {"job": 1}  # the caller's own list and dict
    execute(graph, options=execution_options(scheduler=scheduler))  # runs again, as code does
    assert outbox == ["job", "job"]


@op
def _make_queue(delay):
    time.sleep(delay)
    return ["job3", "job2", "job1"]


@op
def _summarize(jobs):  # a slow reader
    time.sleep(0.05)
    return ",".join(jobs)


@op
def _join_jobs(jobs):  # a fast reader: the engine runs it inline once proved fast
    return ",".join(jobs)


@pytest.mark.parametrize("scheduler", ["auto", "sequential", "wave", "parallel"])
def test_an_in_place_method_call_waits_for_the_earlier_reads_of_its_object(scheduler):
    with autograph() as graph:
        q = _make_queue(0.0)
        _lookup(0)  # two independent ops: auto picks parallel
        s = _summarize(q)  # noqa: F841 - read back by name
        nxt = q.pop()  # noqa: F841 - read back by name
    result = execute(graph, options=execution_options(scheduler=scheduler))
    assert (result["s"], result["nxt"], result["q"]) == (
        "job3,job2,job1", "job1", ["job3", "job2"])


@pytest.mark.parametrize("scheduler", ["auto", "sequential", "wave", "parallel"])
def test_a_later_read_waits_for_an_in_place_method_call_even_when_run_inline(scheduler):
    with autograph() as warm:
        _join_jobs(["x"])
    for _ in range(20):  # _join_jobs proves fast: the engine then runs it inline
        execute(warm, options=execution_options(scheduler="parallel"))
    with autograph() as graph:
        q = _make_queue(0.05)
        _lookup(1)
        q.append("job0")
        s = _join_jobs(q)  # noqa: F841 - read back by name
    assert execute(graph, options=execution_options(scheduler=scheduler))["s"] == \
        "job3,job2,job1,job0"
    # only what s needs runs, and that includes the change of q before it
    assert execute(graph, output_nodes=["s"])["s"] == "job3,job2,job1,job0"
