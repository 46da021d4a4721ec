"""``Trace``: the state of one jitted call while its glue code runs.

The trace turns op calls into engine tasks plus IR nodes and hands back ``Lazy``
values; turns cheap operations on lazy values into lifted tasks; and turns barriers
into waits. It also keeps, per run, the list of op calls issued, which becomes the
*memo* of the next run when a run has to be repeated (a lazy value rejected by C
code): the next run reuses every matching in-flight or finished op instead of
calling it again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import FrameType
from typing import Any

from ember.xcs.engine.scheduler import Schedule, Task, TaskState
from ember.xcs.errors import XCSError
from ember.xcs.ir.graph import Graph, Node, NodeKind, SourceLocation, Var
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import CallMode, inspect_site, location_of
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.learned import LearnedBarriers

__all__ = ["BarrierRecord", "DeferredFailure", "Redacted", "Trace", "failure_of"]


class DeferredFailure(BaseException):
    """An op failed; unwind the glue to the jit boundary, which raises the real error.

    It derives from ``BaseException`` so that ``except Exception`` clauses in the
    traced function cannot catch it: in plain Python the failing op would have raised
    at its own call site, outside those clauses.
    """


class BarrierRecord:
    """A barrier met during a call: why the glue needed a value, and where."""

    __slots__ = ("location", "reason", "task")

    def __init__(self, reason: str, location: SourceLocation | None,
                 task: Task | None = None) -> None:
        self.reason = reason
        self.location = location
        self.task = task

    def __str__(self) -> str:
        return f"{self.reason} at {self.location or '<unknown>'}"

    def __repr__(self) -> str:
        return f"BarrierRecord({self.reason!r}, {self.location})"


class Redacted:
    """Stands in for a literal in the IR when values must not be kept (``redact``)."""

    __slots__ = ("type_name",)

    def __init__(self, value: Any) -> None:
        self.type_name = type(value).__name__

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def failure_of(task: Task) -> BaseException:
    """The user exception behind a failed, upstream-failed or cancelled task."""
    root = task.upstream or task
    if root.error is not None:
        return root.error
    return XCSError(
        f"the value of {task.name} was never computed: an earlier op failed or the call "
        "was cancelled"
    )


class Trace:
    """One jitted call in progress (owned by the thread running its glue).

    The current run is a list of *entries* in program order: the tasks of ops and
    lifted operations, and the barriers. The IR is derived from it only when asked
    for (``graph()``), so tracing an op costs a task and a ``Lazy``, not a node.

    Args:
        make_schedule: creates the call's ``Schedule`` on the first op (a call that
            issues no op never creates one).
        name: the traced function's name (for the graph).
        boundary: the frame that called the traced function; frames above it are
            not user code of this call.
        learned: the function's learned barriers.
        eager: run every op eagerly (plain Python order, with the memo).
        redact: keep no literal values in the IR.
        params: ``(name, value)`` of the call's bound arguments, shown as inputs.
    """

    __slots__ = ("_learned_source", "_make_schedule", "_memo", "_params", "boundary", "eager",
                 "entries", "finished", "issued", "learned", "name", "redact", "schedule",
                 "structure")

    def __init__(
        self,
        make_schedule: Callable[[], Schedule],
        *,
        name: str,
        boundary: FrameType | None,
        learned: LearnedBarriers | None = None,
        eager: bool = False,
        redact: bool = False,
        params: Callable[[], list[tuple[str, Any]]] | None = None,
    ) -> None:
        self._make_schedule = make_schedule
        self.schedule: Schedule | None = None
        self.name = name
        self.boundary = boundary
        self.learned = learned if learned else None
        self._learned_source = learned
        self.eager = eager
        self.redact = redact
        self._params = params
        self.entries: list[Task | BarrierRecord] = []
        self.structure = 0
        self.issued: list[tuple[Any, ...]] = []
        self._memo: list[tuple[Any, ...]] | None = None
        self.finished = False

    def release(self) -> None:
        """Drop what only the running call needed (the memo, the caller's frame).

        Breaks the reference cycles between lazy values, the trace and the
        schedule, so a finished call is freed at once rather than by the cyclic GC.
        """
        self.issued = []
        self._memo = None
        self.boundary = None
        if self.schedule is not None:
            self.schedule.release()

    def _schedule(self) -> Schedule:
        schedule = self.schedule
        if schedule is None:
            schedule = self.schedule = self._make_schedule()
        return schedule

    # -- runs ---------------------------------------------------------------------

    def next_run(self, *, eager: bool = False) -> None:
        """Start the function again from the top, reusing this run's ops via the memo."""
        self._memo = self.issued
        self.issued = []
        self.entries = []
        self.structure = 0
        self.learned = self._learned_source if self._learned_source else None
        self.eager = self.eager or eager
        self._schedule().next_run()

    @property
    def barriers(self) -> list[BarrierRecord]:
        """The barriers of the current run, in program order."""
        return [entry for entry in self.entries if type(entry) is BarrierRecord]

    def run_tasks(self) -> list[Task]:
        """The tasks of the current run, in program order."""
        return [entry for entry in self.entries if type(entry) is Task]

    def graph_outputs(self, result: Any) -> Any:
        """A call's result (before materialisation) with lazy leaves as their tasks."""
        if self.schedule is None:
            return None
        return _task_tree(result, self)

    def graph(self, outputs: Any = None) -> Graph:
        """The IR of the current run; ``outputs`` comes from ``graph_outputs``."""
        entries = self.entries
        var_of: dict[Task, Var] = {}
        param_vars: dict[int, Var] = {}
        inputs: list[Var] = []
        if self._params is not None:
            for name, value in self._params():
                if type(value) not in _SCALARS and id(value) not in param_vars:
                    var = Var(len(entries) + len(inputs), name)
                    inputs.append(var)
                    param_vars[id(value)] = var

        def convert(tree: Any) -> Any:
            if type(tree) is Task:
                var = var_of.get(tree)
                if var is not None:
                    return var
                tree = tree.value
            kind = type(tree)
            if kind is list:
                return [convert(item) for item in tree]
            if kind is dict:
                return {key: convert(item) for key, item in tree.items()}
            if kind is tuple:
                return tuple(convert(item) for item in tree)
            if kind not in _SCALARS and id(tree) in param_vars:
                return param_vars[id(tree)]
            return Redacted(tree) if self.redact else tree

        nodes = []
        for index, entry in enumerate(entries):
            if type(entry) is BarrierRecord:
                source = var_of.get(entry.task) if entry.task is not None else None
                nodes.append(Node(index, NodeKind.BARRIER, entry.reason,
                                  (source,) if source is not None else (),
                                  location=entry.location))
                continue
            task: Task = entry  # type: ignore[assignment]
            output = Var(index)
            args, kwargs = task.args
            op = task.op
            nodes.append(Node(
                index, task.kind, task.name, convert(args),
                tuple((k, convert(v)) for k, v in kwargs.items()), output, task.location,
                fn=op if op is not None else task.call, effect=bool(op and op.effect),
                deterministic=bool(op and op.deterministic) or task.kind is NodeKind.LIFTED,
            ))
            var_of[task] = output
        return Graph(tuple(nodes), tuple(inputs),
                     convert(outputs) if outputs is not None else None, self.name)

    # -- op calls -------------------------------------------------------------------

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Record a call of ``op``; returns a ``Lazy`` (or the value, when eager)."""
        schedule = self.schedule or self._schedule()
        if schedule.failure is not None:
            raise DeferredFailure()
        if not isinstance(op, Op):
            op = Op(op)
        location, mode = inspect_site(self.boundary, self.learned)
        if op.effect:
            # Program order: an effect runs after every op issued before it, and not
            # at all if one of them failed (plain Python would never have reached it).
            schedule.wait_all(self.run_tasks())
            if schedule.failure is not None:
                raise DeferredFailure()
            eager_reason: str | None = "effect"
        elif mode is not CallMode.LAZY:
            eager_reason = mode.value
        else:
            eager_reason = "serial" if self.eager else None
        eager = eager_reason is not None
        lazy = self._from_memo(op, args, kwargs) if self._memo is not None else None
        if lazy is None:
            kind = NodeKind.TENSOR if op.kind == "tensor" else NodeKind.OP
            body = op.run if op.is_coroutine else op.fn  # skip two wrapper frames per call
            task = self._record(kind, op.name, body, args, kwargs, location, op=op,
                                eager=eager)
            lazy = Lazy(task, self)
        else:
            task = object.__getattribute__(lazy, "_xcs_task")
            task.location = location
            schedule.reuse(task, len(self.entries))
            self._append(task, task.deps)
        self.issued.append((op.identity, args, kwargs, lazy))
        if eager:
            self._barrier(BarrierRecord(f"eager op ({eager_reason})", location, task))
            return self._eager_value(task)
        return lazy

    def _from_memo(self, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Lazy | None:
        memo = self._memo
        if memo is None:
            return None
        position = len(self.issued)
        if position < len(memo):
            identity, old_args, old_kwargs, lazy = memo[position]
            if identity == op.identity and _same(args, old_args) and _same(kwargs, old_kwargs):
                return lazy  # type: ignore[no-any-return]
        self._memo = None  # the run diverged from the last one: no more reuse
        return None

    def _eager_value(self, task: Task) -> Any:
        self._schedule().wait(task)
        if task.state is TaskState.DONE:
            return task.value
        if task.state is TaskState.FAILED and task.eager:
            raise task.error  # type: ignore[misc] # plain Python raises it right here
        raise DeferredFailure()

    # -- lifted operations and barriers ---------------------------------------------

    def lift(self, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        """Record a cheap pure operation on lazy values (or run it now, when eager)."""
        if context.current_trace() is not self or self.finished:
            return fn(*_force_tree(args), **_force_tree(kwargs))
        if self._schedule().failure is not None:
            raise DeferredFailure()
        location, mode = inspect_site(self.boundary, self.learned)
        if self.eager or mode is not CallMode.LAZY:
            self._barrier(BarrierRecord(name, location))
            return fn(*self._materialize_tree(args, name), **self._materialize_tree(kwargs, name))
        task = self._record(NodeKind.LIFTED, name, fn, args, kwargs, location)
        return Lazy(task, self)

    def force(self, lazy: Lazy, reason: str) -> Any:
        """The value behind ``lazy``: a barrier (waits, records where)."""
        task: Task = object.__getattribute__(lazy, "_xcs_task")
        if context.current_trace() is not self or self.finished:
            return _outside_value(task)
        location, _ = inspect_site(self.boundary, None)
        self._barrier(BarrierRecord(reason, location, task))
        return self.value_of(task)

    def _barrier(self, record: BarrierRecord) -> None:
        task = record.task
        self.structure = hash((self.structure, record.reason, task.order if task else -1))
        self.entries.append(record)

    def value_of(self, task: Task) -> Any:
        """Wait for ``task``; its value, or ``DeferredFailure`` if it did not succeed."""
        if task.state is not TaskState.DONE:
            task.schedule.wait(task)
        if task.state is not TaskState.DONE:
            raise DeferredFailure()
        return task.value

    def materialize(self, value: Any) -> Any:
        """``value`` with every lazy leaf replaced by its value (lists/dicts in place).

        Walks lists, tuples (named too), dicts, sets and dataclass instances.
        """
        return self._materialize(value, None, {})

    def materialize_learned(self, value: Any, frame: FrameType) -> Any:
        """``materialize`` at a learned barrier line, recording a barrier per value."""
        return self._materialize(value, location_of(frame), {})

    def _materialize_tree(self, value: Any, reason: str) -> Any:
        return self._materialize(value, None, {})

    def _materialize(self, value: Any, barrier: SourceLocation | None,
                     seen: dict[int, Any]) -> Any:
        if type(value) is Lazy:
            task = object.__getattribute__(value, "_xcs_task")
            if object.__getattribute__(value, "_xcs_trace") is not self:
                return _outside_value(task)
            if barrier is not None:
                self._barrier(BarrierRecord("learned", barrier, task))
            return self.value_of(task)
        kind = type(value)
        if kind in _ATOMS:
            return value
        key = id(value)
        if key in seen:
            return seen[key]
        if isinstance(value, list):
            seen[key] = value
            for index, item in enumerate(value):
                new = self._materialize(item, barrier, seen)
                if new is not item:
                    value[index] = new
            return value
        if isinstance(value, dict):
            seen[key] = value
            for item_key, item in value.items():
                new = self._materialize(item, barrier, seen)
                if new is not item:
                    value[item_key] = new
            return value
        if isinstance(value, tuple):
            items = [self._materialize(item, barrier, seen) for item in value]
            if all(new is old for new, old in zip(items, value)):
                return value
            rebuilt = kind(*items) if hasattr(value, "_fields") else kind(items)
            seen[key] = rebuilt
            return rebuilt
        if isinstance(value, set | frozenset):
            items = [self._materialize(item, barrier, seen) for item in value]
            return value if all(n is o for n, o in zip(items, value)) else kind(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            seen[key] = value
            for field in dataclasses.fields(value):
                item = getattr(value, field.name, None)
                new = self._materialize(item, barrier, seen)
                if new is not item:
                    object.__setattr__(value, field.name, new)
            return value
        return value

    # -- recording ------------------------------------------------------------------

    def _record(self, kind: NodeKind, name: str, call: Callable[..., Any],
                args: tuple[Any, ...], kwargs: dict[str, Any], location: SourceLocation | None,
                *, op: Op | None = None, eager: bool = False) -> Task:
        schedule = self.schedule or self._schedule()
        deps: list[Task] = []
        atoms = _ATOMS
        for arg in args:
            if type(arg) not in atoms:
                runtime_args = self._runtime_tree(args, deps)
                break
        else:
            runtime_args = args  # nothing to convert (the common case of literal arguments)
        runtime_kwargs = (
            {k: self._runtime_tree(v, deps) for k, v in kwargs.items()} if kwargs else _NO_KWARGS
        )
        unique = tuple(dict.fromkeys(deps)) if len(deps) > 1 else tuple(deps)
        entries = self.entries
        task = Task(
            schedule, kind=kind, name=name, call=call, args=runtime_args,
            kwargs=runtime_kwargs, deps=unique, order=len(entries),
            location=location, op=op, eager=eager,
        )
        self.structure = hash(
            (self.structure, name, tuple([d.order for d in unique]) if unique else ())
        )
        entries.append(task)
        schedule.submit(task)
        return task

    def _append(self, task: Task, deps: tuple[Task, ...]) -> None:
        self.structure = hash((self.structure, task.name, tuple(d.order for d in deps)))
        self.entries.append(task)

    def _runtime_tree(self, tree: Any, deps: list[Task]) -> Any:
        kind = type(tree)
        if kind is Lazy:
            task = object.__getattribute__(tree, "_xcs_task")
            if object.__getattribute__(tree, "_xcs_trace") is not self:
                return _outside_value(task)
            deps.append(task)
            return task
        if kind in _ATOMS:
            return tree
        if kind is list:
            return [self._runtime_tree(item, deps) for item in tree]
        if kind is dict:
            return {key: self._runtime_tree(item, deps) for key, item in tree.items()}
        if isinstance(tree, tuple):
            items = [self._runtime_tree(item, deps) for item in tree]
            return kind(*items) if hasattr(tree, "_fields") else kind(items)
        return tree


_NO_KWARGS: dict[str, Any] = {}  # shared, never mutated
_SCALARS = frozenset({int, float, bool, complex, type(None)})
_ATOMS = frozenset({str, bytes, int, float, bool, complex, type(None)})


def _task_tree(tree: Any, trace: Trace) -> Any:
    """``tree`` with this trace's lazy leaves replaced by their tasks (a copy)."""
    kind = type(tree)
    if kind is Lazy:
        if object.__getattribute__(tree, "_xcs_trace") is trace:
            return object.__getattribute__(tree, "_xcs_task")
        return tree
    if kind is list:
        return [_task_tree(item, trace) for item in tree]
    if kind is dict:
        return {key: _task_tree(item, trace) for key, item in tree.items()}
    if kind is tuple:
        return tuple(_task_tree(item, trace) for item in tree)
    return tree


def _outside_value(task: Task) -> Any:
    """The value of a task reached outside its own trace (after return, other thread)."""
    task.schedule.wait(task)
    if task.state is TaskState.DONE:
        return task.value
    raise failure_of(task)


def _force_tree(tree: Any) -> Any:
    if type(tree) is Lazy:
        return _outside_value(object.__getattribute__(tree, "_xcs_task"))
    if type(tree) is tuple:
        return tuple(_force_tree(item) for item in tree)
    if type(tree) is dict:
        return {key: _force_tree(item) for key, item in tree.items()}
    return tree


def _same(new: Any, old: Any) -> bool:
    """Whether ``new`` matches ``old`` for memo reuse (lazy values match their value)."""
    if new is old:
        return True
    if type(new) is Lazy or type(old) is Lazy or type(new) is Task or type(old) is Task:
        return _same_value(_as_task(new), _as_task(old))
    if type(new) is not type(old):
        return False
    if isinstance(new, list | tuple):
        return len(new) == len(old) and all(_same(a, b) for a, b in zip(new, old))
    if isinstance(new, dict):
        return new.keys() == old.keys() and all(_same(new[k], old[k]) for k in new)
    try:
        return (new == old) is True
    except Exception:
        return False


def _as_task(value: Any) -> Any:
    if type(value) is Lazy:
        return object.__getattribute__(value, "_xcs_task")
    return value


def _same_value(new: Any, old: Any) -> bool:
    """Match where either side may be a task: same task, an equivalent lifted task
    (same operation on matching inputs: lifted tasks are recomputed on every run), or
    a finished task whose value matches."""
    if new is old:
        return True
    new_task, old_task = type(new) is Task, type(old) is Task
    lifted = NodeKind.LIFTED
    if new_task and old_task and new.kind is lifted and old.kind is lifted:  # noqa: SIM102
        if new.call is old.call and new.name == old.name and _same(new.args, old.args):
            return True
    if new_task:
        if new.state is not TaskState.DONE:
            return False
        new = new.value
    if old_task:
        if old.state is not TaskState.DONE:
            return False
        old = old.value
    return _same(new, old)
