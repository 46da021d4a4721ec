"""``CallLog``: what one jitted call did, kept compactly until someone asks for its IR.

Building IR nodes for every op as the call runs would cost more than scheduling the
op. So when a call ends the trace copies out, per task, its kind, name, callable,
argument snapshot (inputs as ``Edge`` markers, not engine tasks), location and timing,
plus the barriers; nothing of the engine stays referenced. ``graph()`` turns that
into an immutable ``Graph`` through the one IR builder the first time stats,
``explain`` or a hook needs it. A log of more than ``ARGUMENT_LIMIT`` tasks keeps no
argument values (only the shape of the graph), so a huge call cannot pin its data.
"""

from __future__ import annotations

import types
from typing import Any, NamedTuple

from ember.xcs import tree
from ember.xcs.ir.builder import GraphBuilder
from ember.xcs.ir.graph import Graph, NodeKind, SourceLocation, Var
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.outside import outside_value
from ember.xcs.tracing.usage import count_usage

__all__ = ["ARGUMENT_LIMIT", "GRAPH_LIMIT", "CallLog", "Edge", "Entry", "LoggedBarrier",
           "Redacted", "Shape", "call_log", "graph_outputs", "redact", "write_log"]

ARGUMENT_LIMIT = 10_000
GRAPH_LIMIT = 5_000  # above this many tasks, stats read the Shape, not the Graph
_SCALARS = frozenset({int, float, bool, complex, type(None)})
# Results that carry no token usage (and on which getattr would be slow to fail).
_NO_USAGE = frozenset({int, float, bool, complex, type(None), str, bytes, set, frozenset})


class Edge:
    """An input of a logged task: the output of the task with this id."""

    __slots__ = ("id",)

    def __init__(self, task_id: int) -> None:
        self.id = task_id

    def __repr__(self) -> str:
        return f"Edge({self.id})"


def graph_outputs(result: Any, trace: object) -> Any:
    """A call's result (before materialisation), its lazy leaves of ``trace`` as edges."""

    def edge(lazy: Lazy) -> Any:
        if object.__getattribute__(lazy, "_xcs_trace") is not trace:
            return outside_value(lazy)
        return Edge(object.__getattribute__(lazy, "_xcs_task").id)

    outputs = tree.map_tree(result, edge, Lazy)
    for kind in _FINALIZED:  # the caller's alone: dropping it must be seen when it drops it
        if type(outputs) is kind or (type(outputs) not in tree.ATOMS
                                     and tree.contains(outputs, kind)):
            outputs = tree.map_tree(outputs, Redacted, kind)
    return outputs


# Results whose end is seen (a "never awaited" warning, ``finally`` blocks run): the log
# keeps their type only, not the object until the next call.
_FINALIZED = (types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)


class Redacted:
    """Stands in for a literal in the IR when values must not be kept (``redact``)."""

    __slots__ = ("type_name",)

    def __init__(self, value: Any) -> None:
        self.type_name = type(value).__name__

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


class Entry(NamedTuple):
    """One logged task (a named tuple: thousands are made per call)."""

    kind: NodeKind
    name: str
    fn: Any
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    location: SourceLocation | None
    effect: bool
    deterministic: bool
    started: float
    ended: float
    deps: tuple[int, ...]


class LoggedBarrier(NamedTuple):
    """One logged barrier: after ``position`` tasks, for task ``task`` (or none)."""

    reason: str
    location: SourceLocation | None
    task: int | None
    position: int
    kind: str


class Shape(NamedTuple):
    """The facts stats report about a call's graph, computed in one pass over the log.

    The same facts as ``analysis.analyze`` and ``analysis.critical_path`` on the built
    graph (lifted tasks looked through, barriers as control dependencies), without
    building it: a call of 100,000 ops is summarised in tens of milliseconds.
    """

    node_kinds: dict[str, int]
    parallel_groups: int
    max_parallelism: int
    critical_path_seconds: float
    critical_path: tuple[str, ...]
    op_seconds: float


class CallLog:
    """The compact record of one call (see the module docstring); immutable once made.

    Args:
        name: the traced function's name.
        entries: the tasks, in program order.
        barriers: the barriers, in program order.
        outputs: the call's result tree with ``Edge`` leaves for task outputs.
        params: ``(name, value)`` of the call's arguments, shown as graph inputs.
        redact: the literals were replaced by ``Redacted`` (``Config(redact=True)``).
        tokens: token usage summed over op results that carry a ``usage``.
    """

    __slots__ = ("_graph", "_node_ids", "_shape", "_structure", "barriers", "entries", "name",
                 "outputs", "params", "redact", "tokens")

    def __init__(self, name: str, entries: list[Entry], barriers: list[LoggedBarrier],
                 outputs: Any, params: list[tuple[str, Any]], redact: bool,
                 tokens: dict[str, int] | None = None) -> None:
        self.name = name
        self.entries = entries
        self.barriers = barriers
        self.outputs = outputs
        self.params = params
        self.redact = redact
        self._graph: Graph | None = None
        self._shape: Shape | None = None
        self._node_ids: dict[int, int] = {}
        self._structure: int | None = None
        self.tokens = tokens if tokens is not None else {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def structure(self) -> int:
        """A hash of the graph's shape: op names, their inputs, the barriers (computed once)."""
        if self._structure is None:
            self._structure = hash((tuple([(entry.name, entry.deps) for entry in self.entries]),
                                    tuple([(b.reason, b.task, b.position)
                                           for b in self.barriers])))
        return self._structure

    def graph(self) -> Graph:
        """The IR of the call (built once)."""
        if self._graph is None:
            self._graph = self._build()
        return self._graph

    def node_id(self, task_id: int) -> int:
        """The graph node id of the task with ``task_id``."""
        self.graph()
        return self._node_ids[task_id]

    def durations(self) -> dict[int, float]:
        """Seconds each op body ran, by node id."""
        self.graph()
        return {self._node_ids[i]: entry.ended - entry.started
                for i, entry in enumerate(self.entries)
                if entry.kind is not NodeKind.LIFTED and entry.started and entry.ended}

    def shape(self) -> Shape:
        """The graph's facts for stats, in one pass (see ``Shape``; computed once)."""
        if self._shape is None:
            self._shape = self._measure()
        return self._shape

    def _measure(self) -> Shape:
        entries = self.entries
        count = len(entries)
        level = [-1] * count  # ops: their level; lifted: the highest level of op inputs
        path = [0.0] * count  # ops: the longest chain ending with them (seconds)
        via = [-1] * count  # the op before them on that chain
        is_op = [entry.kind is not NodeKind.LIFTED for entry in entries]
        width: dict[int, int] = {}
        kinds = {kind.value: 0 for kind in NodeKind}
        op_seconds = 0.0
        barriers = iter(self.barriers)
        barrier = next(barriers, None)
        waited_level, waited_path, waited_via = -1, 0.0, -1
        for index, entry in enumerate(entries):
            while barrier is not None and barrier.position <= index:
                kinds["barrier"] += 1
                source = barrier.task
                if source is not None and 0 <= source < index:
                    # The glue waited here for `source`: everything after depends on it.
                    if level[source] > waited_level:
                        waited_level = level[source]
                    if path[source] > waited_path:
                        waited_path, waited_via = path[source], (
                            source if is_op[source] else via[source])
                barrier = next(barriers, None)
            kinds[entry.kind.value] += 1
            best_level, best_path, best_via = waited_level, waited_path, waited_via
            for dep in entry.deps:
                if level[dep] > best_level:
                    best_level = level[dep]
                if path[dep] > best_path:
                    best_path, best_via = path[dep], dep if is_op[dep] else via[dep]
            if is_op[index]:
                seconds = entry.ended - entry.started if entry.started and entry.ended else 0.0
                op_seconds += seconds
                level[index] = best_level + 1
                width[best_level + 1] = width.get(best_level + 1, 0) + 1
                path[index], via[index] = best_path + seconds, best_via
            else:
                level[index], path[index], via[index] = best_level, best_path, best_via
        while barrier is not None:
            kinds["barrier"] += 1
            barrier = next(barriers, None)
        ops = [i for i in range(count) if is_op[i]]
        end = max(ops, key=lambda i: (path[i], -i), default=-1)
        chain: list[str] = []
        cursor = end
        while cursor >= 0:
            chain.append(entries[cursor].name)
            cursor = via[cursor]
        return Shape(kinds, len(width), max(width.values(), default=0),
                     path[end] if end >= 0 else 0.0, tuple(reversed(chain)), op_seconds)

    def _build(self) -> Graph:
        builder = GraphBuilder(self.name)
        params: dict[int, Var] = {}
        recorded: list[tuple[Var, Any]] = []
        for name, value in self.params:
            if type(value) not in _SCALARS and id(value) not in params:
                params[id(value)] = var = builder.add_input(name)
                recorded.append((var, value))
        var_of: dict[int, Var] = {}

        def convert(value: Any) -> Any:  # literals were redacted when the log was made
            if type(value) is Edge:
                return var_of.get(value.id, value)
            if type(value) not in _SCALARS and id(value) in params:
                return params[id(value)]
            kind = tree.kind_of(value)
            if kind is tree.Kind.LIST or kind is tree.Kind.DEQUE:
                return [convert(item) for item in value]
            if kind is tree.Kind.DICT:
                return {convert(key): convert(item) for key, item in value.items()}
            if kind in (tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE):
                return tuple(convert(item) for item in value)
            if kind in (tree.Kind.SET, tree.Kind.FROZENSET):
                return frozenset(convert(item) for item in value)
            return value

        barriers = iter(self.barriers)
        barrier = next(barriers, None)
        for index, entry in enumerate(self.entries):
            while barrier is not None and barrier.position <= index:
                self._add_barrier(builder, barrier, var_of)
                barrier = next(barriers, None)
            node = builder.add(
                entry.kind, entry.name, tuple(convert(a) for a in entry.args),
                tuple((key, convert(value)) for key, value in entry.kwargs), fn=entry.fn,
                location=entry.location, effect=entry.effect, deterministic=entry.deterministic,
            )
            assert node.output is not None
            var_of[index] = node.output
            self._node_ids[index] = node.id
        while barrier is not None:
            self._add_barrier(builder, barrier, var_of)
            barrier = next(barriers, None)
        return builder.build(convert(self.outputs) if self.outputs is not None else None,
                             recorded_inputs=tuple(recorded))

    @staticmethod
    def _add_barrier(builder: GraphBuilder, barrier: LoggedBarrier,
                     var_of: dict[int, Var]) -> None:
        source = var_of.get(barrier.task) if barrier.task is not None else None
        builder.add(NodeKind.BARRIER, barrier.reason, (source,) if source is not None else (),
                    (), fn=None, location=barrier.location)


def redact(value: Any) -> Any:
    """``value`` with every literal leaf (not an ``Edge``) replaced by ``Redacted``."""
    kind = tree.kind_of(value)
    if type(value) is Edge:
        return value
    if kind is tree.Kind.LIST or kind is tree.Kind.DEQUE:
        return [redact(item) for item in value]
    if kind is tree.Kind.DICT:
        return {redact(key): redact(item) for key, item in value.items()}
    if kind in (tree.Kind.TUPLE, tree.Kind.NAMEDTUPLE, tree.Kind.SET, tree.Kind.FROZENSET):
        return tuple(redact(item) for item in value)
    return Redacted(value)


def call_log(trace: Any, outputs: Any) -> CallLog:
    """The compact record of ``trace``'s call (a ``tracing.trace.Trace``; holds no task)."""
    run = trace.run
    tasks = run.tasks if run is not None else []
    call_args = trace.call_args
    params = trace.params(*call_args) if trace.params is not None and not trace.redact \
        and call_args is not None and len(tasks) <= ARGUMENT_LIMIT else []
    barriers = [LoggedBarrier(b.reason, b.location, b.task.id if b.task is not None else None,
                              b.position, b.kind) for b in trace.barriers]
    return write_log(trace.name, run, tasks, trace.arguments, barriers, params, trace.redact,
                     outputs)


def write_log(name: str, run: Any, tasks: list[Any], arguments: list[Any],
              barriers: list[LoggedBarrier], params: list[tuple[str, Any]], hide: bool,
              outputs: Any) -> CallLog:
    """The ``CallLog`` of a finished call (``call_log``): tasks become entries.

    Args:
        name: the traced function's name.
        run: the call's engine run (its tasks are this call's; others' are literals).
        tasks: the run's tasks, in program order.
        arguments: per task id, the argument snapshot (trees with ``Task`` leaves): its
            args at ``2 * id``, its kwargs at ``2 * id + 1``.
        barriers: the call's barriers.
        params: ``(name, value)`` of the call's arguments.
        hide: redact every literal (``Config(redact=True)``).
        outputs: the result tree with ``Edge`` leaves.
    """
    from ember.xcs.engine.task import Task, TaskState

    small = len(tasks) <= ARGUMENT_LIMIT
    lifted = NodeKind.LIFTED
    done = TaskState.DONE
    make = tuple.__new__
    count = len(arguments) // 2

    def edge(task: Task) -> Any:
        if task.run is run:
            return Edge(task.id)
        return Redacted(task.value) if hide else task.value

    entries: list[Entry] = []
    tokens: dict[str, int] = {}
    counted: dict[int, Any] = {}  # usages already in tokens: each counts once per call
    for task in tasks:
        task_deps = task.deps
        deps = tuple([dep.id for dep in task_deps]) if task_deps else ()
        if small and task.id < count:
            at = 2 * task.id
            args, kwargs = arguments[at], arguments[at + 1]
            if task_deps:
                args = tree.map_tree(args, edge, Task)
                if kwargs:  # (most calls have none: no empty copy to make)
                    kwargs = tree.map_tree(kwargs, edge, Task)
            if hide:
                args, kwargs = redact(args), redact(kwargs)
            pairs = tuple(kwargs.items()) if kwargs else ()
        else:
            args, pairs = tuple([Edge(i) for i in deps]), ()
        kind = task.kind
        op = task.op
        if op is None:
            entries.append(make(Entry, (kind, task.name, task.fn, args, pairs, task.location,
                                        False, kind is lifted, task.started, task.ended,
                                        deps)))
            continue
        entries.append(make(Entry, (kind, task.name, op, args, pairs, task.location,
                                    bool(op.effect), bool(op.deterministic), task.started,
                                    task.ended, deps)))
        value = task.value
        if task.state is done and type(value) not in _NO_USAGE:
            count_usage(value, tokens, counted)
    log = CallLog(name, entries, barriers, redact(outputs) if hide else outputs, params, hide,
                  tokens)
    if len(entries) > GRAPH_LIMIT:
        log.shape()  # while the entries are fresh: stats of a huge call then cost nothing
    return log
