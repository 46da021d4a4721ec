"""Run a whole ``Graph`` on the engine: the ``sequential``, ``wave`` and ``parallel`` schedulers.

All three are submission policies over the same ``Run``/``Task`` machinery that runs
jitted calls, so concurrency caps, contexts and hooks behave the same:

- ``sequential``: every node in program order, in the calling thread;
- ``wave``: op nodes grouped by dependency level; each level runs concurrently and is
  awaited as a whole before the next starts (simple, but a slow node holds back
  everything in the next level);
- ``parallel``: every node starts as soon as its own inputs exist.

Besides its inputs, a node waits for the nodes ``analysis.ordering.run_after`` names:
an effect runs alone, in program order, as plain Python and ``@jit`` run it.

They all agree with ``ember.xcs.engine.reference.eval_graph``: same values, and on
failure the exception of the failing node that comes first in program order, with a
note naming the node, its op and the variable it was bound to.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from ember.xcs.analysis.ordering import run_after
from ember.xcs.engine.driver import Engine, default_engine
from ember.xcs.engine.reference import call_node
from ember.xcs.engine.state import Run, RunStopped
from ember.xcs.engine.task import Task, TaskState
from ember.xcs.errors import GraphError, XCSTimeoutError, add_origin_note
from ember.xcs.ir.graph import Graph, Node, Var, map_vars
from ember.xcs.ops import Op

__all__ = ["run_graph", "wave_levels"]

Listener = Callable[[str, Task], None]


def wave_levels(graph: Graph) -> list[list[Node]]:
    """Nodes grouped into waves: an op node is one level above the nodes it needs.

    A lifted node joins the wave of its latest input (it runs inline as soon as that
    input exists), so ``x["key"]`` does not cost a wave of its own. What a node needs
    is its inputs and the nodes it must run after (``run_after``). Barriers are left
    out: they produce nothing.
    """
    after = run_after(graph)
    output_of = {node.id: node.output.id for node in graph.nodes if node.output is not None}
    level: dict[int, int] = {}
    waves: list[list[Node]] = []
    for node in graph.nodes:
        if node.output is None:
            continue
        needed = [v.id for v in node.inputs] + [output_of[i] for i in after[node.id]]
        below = [level[var_id] for var_id in needed if var_id in level]
        mine = 1 + max(below, default=-1) if node.is_op else max(below, default=0)
        level[node.output.id] = mine
        while len(waves) <= mine:
            waves.append([])
        waves[mine].append(node)
    return waves


class _Execution:
    """Turns nodes into tasks of one run (only touched by the calling thread)."""

    def __init__(self, graph: Graph, inputs: Mapping[Var, Any], run: Run,
                 engine: Engine) -> None:
        self.run = run
        self.engine = engine
        self.values: dict[int, Any] = {var.id: inputs[var] for var in graph.inputs}
        self.tasks: dict[int, Task] = {}  # by output var id
        self.nodes: dict[Task, Node] = {}
        self.after = run_after(graph)
        self.by_node: dict[int, Task] = {}

    def submit(self, node: Node) -> Task:
        # Nodes it must run after first: they were submitted before it (program order).
        deps: list[Task] = [self.by_node[i] for i in self.after[node.id] if i in self.by_node]

        def argument(var: Var) -> Any:
            task = self.tasks.get(var.id)
            if task is None:
                return self.values[var.id]
            deps.append(task)
            return task

        args = map_vars(node.args, argument, share=node.effect)  # as in reference.eval_graph
        kwargs = {key: map_vars(value, argument, share=node.effect)
                  for key, value in node.kwargs}
        op = node.fn if isinstance(node.fn, Op) else None
        task = Task(
            self.run, kind=node.kind, name=node.name, fn=None if op else _caller(node),
            args=args, kwargs=kwargs, deps=tuple(dict.fromkeys(deps)), location=node.location,
            op=op, shares=node.effect,
        )
        task.id = node.id  # program order is the graph's, whatever order waves submit in
        assert node.output is not None
        self.tasks[node.output.id] = task
        self.by_node[node.id] = task
        self.nodes[task] = node
        self.engine.submit(task)
        return task

    def wait(self, wait: Callable[[], Any]) -> Any:
        try:
            return wait()
        except RunStopped:
            raise XCSTimeoutError(
                f"the graph did not finish within timeout={self.run.timeout} s. Raise the "
                "timeout, or look for the slow node in the graph's timeline."
            ) from None

    def env(self) -> dict[int, Any]:
        values = dict(self.values)
        for var_id, task in self.tasks.items():
            if task.state is TaskState.DONE:
                values[var_id] = task.value
        return values

    def raise_failure(self) -> None:
        failure = self.wait(lambda: self.engine.earliest_failure(self.run))
        if failure is None:
            return
        root = failure.root_failure
        assert root.error is not None
        raise _with_note(root.error, self.nodes[root])


def _caller(node: Node) -> Callable[..., Any]:
    if isinstance(node.fn, Op):
        return node.fn.run
    if node.fn is None:
        raise GraphError(f"node #{node.id} {node.name} has no function to call.")

    def call(*args: Any, **kwargs: Any) -> Any:
        return call_node(node, args, kwargs)

    return call


def _with_note(error: BaseException, node: Node) -> BaseException:
    variable = node.output.name if node.output is not None else None
    bound = f"bound to variable {variable!r}" if variable else "not bound to a variable"
    where = f", called at {node.location}" if node.location else ""
    op_text = repr(node.fn) if isinstance(node.fn, Op) else node.kind.value
    note = f"[ember.xcs] raised by node #{node.id} {node.name} (op {op_text}, {bound}{where})"
    add_origin_note(error, note)
    return error


def run_graph(
    graph: Graph,
    inputs: Mapping[Var, Any],
    *,
    scheduler: str,
    max_workers: int,
    timeout: float | None = None,
    listener: Listener | None = None,
    executor: Any = "thread",
) -> dict[int, Any]:
    """Run ``graph`` with one of the schedulers; returns every value by ``Var`` id.

    Args:
        graph: the graph (barrier nodes are skipped).
        inputs: a value for each of ``graph.inputs``.
        scheduler: ``"sequential"``, ``"wave"`` or ``"parallel"``.
        max_workers: cap on op bodies running at once.
        timeout: seconds before ``XCSTimeoutError``.
        listener: the hooks' scheduler listener (``hooks.CallHooks.listener``).
        executor: where op bodies run (the ``sequential`` scheduler: the caller).

    Raises:
        GraphError: an input has no value, or the scheduler is unknown.
        Exception: the failing node's own exception, with a note naming the node.

    Example:
        >>> from ember.xcs.ir import GraphBuilder, NodeKind
        >>> builder = GraphBuilder()
        >>> x = builder.add_input("x")
        >>> node = builder.add(NodeKind.LIFTED, "neg", (x,), (), fn=lambda v: -v, location=None)
        >>> run_graph(builder.build(), {x: 2}, scheduler="parallel", max_workers=4)[node.output.id]
        -2
    """
    missing = [var.name or f"#{var.id}" for var in graph.inputs if var not in inputs]
    if missing:
        raise GraphError(f"no value for graph input(s) {', '.join(missing)}.")
    if scheduler not in _POLICIES:
        raise GraphError(f"unknown scheduler {scheduler!r}; expected one of {sorted(_POLICIES)}.")
    where = "sync" if scheduler == "sequential" else executor
    run = Run(cap=max_workers, timeout=timeout, executor=where, listener=listener)
    execution = _Execution(graph, inputs, run, default_engine())
    _POLICIES[scheduler](graph, execution)
    execution.raise_failure()
    return execution.env()


def _sequential(graph: Graph, execution: _Execution) -> None:
    run = execution.run
    for node in graph.nodes:
        if node.output is None:
            continue
        if run.deadline is not None and time.monotonic() > run.deadline:
            raise XCSTimeoutError(
                f"the graph did not finish within timeout={run.timeout} s; it was "
                f"about to run node #{node.id} {node.name}. Raise the timeout, or use "
                "scheduler='parallel' to overlap slow nodes."
            )
        execution.submit(node)
        if run.failure is not None:
            return  # plain Python would have stopped at this node
        if run.deadline is not None and time.monotonic() > run.deadline:
            raise XCSTimeoutError(
                f"the graph did not finish within timeout={run.timeout} s; node #{node.id} "
                f"{node.name} ran past it. Raise the timeout, or use scheduler='parallel' "
                "to overlap slow nodes."
            )


def _wave(graph: Graph, execution: _Execution) -> None:
    run = execution.run
    for wave in wave_levels(graph):
        failure = run.failure
        # After a failure only nodes that come before it in program order still run.
        cutoff = failure.id if failure is not None else None
        tasks = [execution.submit(node) for node in wave if cutoff is None or node.id < cutoff]
        for task in tasks:
            execution.wait(functools.partial(execution.engine.wait, task))


def _parallel(graph: Graph, execution: _Execution) -> None:
    for node in graph.nodes:
        if node.output is None:
            continue
        if execution.run.failure is not None:
            break  # nothing after the failure in program order may start
        execution.submit(node)
    execution.wait(lambda: execution.engine.wait_all(execution.run))


_POLICIES: dict[str, Callable[[Graph, _Execution], None]] = {
    "sequential": _sequential,
    "wave": _wave,
    "parallel": _parallel,
}
