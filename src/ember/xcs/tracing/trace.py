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
from ember.xcs.ir.builder import GraphBuilder
from ember.xcs.ir.graph import Graph, NodeKind, SourceLocation, Var
from ember.xcs.ops import Op
from ember.xcs.tracing import context
from ember.xcs.tracing.frames import CallMode, inspect_site
from ember.xcs.tracing.lazy import Lazy
from ember.xcs.tracing.learned import LearnedBarriers

__all__ = ["BarrierRecord", "DeferredFailure", "Redacted", "Trace", "failure_of"]


class DeferredFailure(BaseException):  # noqa: N818 - a control-flow signal, not an error
    """An op failed; unwind the glue to the jit boundary, which raises the real error.

    It derives from ``BaseException`` so that ``except Exception`` clauses in the
    traced function cannot catch it: in plain Python the failing op would have raised
    at its own call site, outside those clauses.
    """


@dataclasses.dataclass(frozen=True)
class BarrierRecord:
    """A barrier met during a call: why the glue needed a value, and where."""

    reason: str
    location: SourceLocation | None

    def __str__(self) -> str:
        return f"{self.reason} at {self.location or '<unknown>'}"


class Redacted:
    """Stands in for a literal in the IR when values must not be kept (``redact``)."""

    __slots__ = ("type_name",)

    def __init__(self, value: Any) -> None:
        self.type_name = type(value).__name__

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


@dataclasses.dataclass
class _Issued:
    """One op call of a run, kept as the memo of the next run."""

    identity: object
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    lazy: Lazy


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

    Args:
        schedule: where tasks run.
        name: the traced function's name (for the graph).
        boundary: the frame that called the traced function; frames above it are
            not user code of this call.
        learned: the function's learned barriers.
        eager: run every op eagerly (plain Python order, with the memo).
        redact: keep no literal values in the IR.
        params: ``(name, value)`` of the call's bound arguments, shown as inputs.
    """

    def __init__(
        self,
        schedule: Schedule,
        *,
        name: str,
        boundary: FrameType | None,
        learned: LearnedBarriers | None = None,
        eager: bool = False,
        redact: bool = False,
        params: Callable[[], list[tuple[str, Any]]] | None = None,
    ) -> None:
        self.schedule = schedule
        self.name = name
        self.boundary = boundary
        self.learned = learned if learned else None
        self._learned_source = learned
        self.eager = eager
        self.redact = redact
        self._params = params
        self._param_vars: dict[int, Var] | None = None
        self.builder = GraphBuilder(name)
        self.barriers: list[BarrierRecord] = []
        self.issued: list[_Issued] = []
        self._memo: list[_Issued] | None = None
        self._vars: dict[Task, Var] = {}
        self.finished = False

    # -- runs ---------------------------------------------------------------------

    def next_run(self, *, eager: bool = False) -> None:
        """Start the function again from the top, reusing this run's ops via the memo."""
        self._memo = self.issued
        self.issued = []
        self._vars = {}
        self._param_vars = None
        self.builder = GraphBuilder(self.name)
        self.barriers = []
        self.learned = self._learned_source if self._learned_source else None
        self.eager = self.eager or eager
        self.schedule.next_run()

    def graph_outputs(self, result: Any) -> Any:
        """The IR form of a call's (not yet materialised) result."""
        return self._ir_tree(result, [])

    def graph(self, outputs: Any = None) -> Graph:
        """The IR of the current run, returning ``outputs`` (an IR pytree)."""
        return self.builder.build(outputs)

    def run_tasks(self) -> list[Task]:
        """The tasks of the current run, in program order."""
        run = self.schedule.run
        return sorted((t for t in self.schedule.tasks if t.run == run), key=lambda t: t.order)

    # -- op calls -------------------------------------------------------------------

    def call_op(self, op: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Record a call of ``op``; returns a ``Lazy`` (or the value, when eager)."""
        if context.current_trace() is not self:  # pragma: no cover - handler protocol
            return op(*args, **kwargs)
        if self.schedule.failure is not None:
            raise DeferredFailure()
        if not isinstance(op, Op):
            op = Op(op)
        location, mode = inspect_site(self.boundary, self.learned)
        eager = self.eager or op.effect or mode is CallMode.EAGER
        lazy = self._from_memo(op, args, kwargs)
        if lazy is None:
            kind = NodeKind.TENSOR if op.kind == "tensor" else NodeKind.OP
            task = self._record(kind, op.name, op.run, args, kwargs, location, op=op,
                                eager=eager)
            lazy = Lazy(task, self)
        else:
            task = object.__getattribute__(lazy, "_xcs_task")
            self._register_reused(task, op, args, kwargs, location)
        self.issued.append(_Issued(op.identity, args, kwargs, lazy))
        if eager:
            return self._eager_value(task)
        return lazy

    def _from_memo(self, op: Op, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Lazy | None:
        memo = self._memo
        if memo is None:
            return None
        position = len(self.issued)
        if position < len(memo):
            entry = memo[position]
            if entry.identity == op.identity and _same(args, entry.args) and _same(
                kwargs, entry.kwargs
            ):
                return entry.lazy
        self._memo = None  # the run diverged from the last one: no more reuse
        return None

    def _register_reused(self, task: Task, op: Op, args: tuple[Any, ...],
                         kwargs: dict[str, Any], location: SourceLocation | None) -> None:
        deps: list[Task] = []
        ir_args = self._ir_tree(args, deps)
        ir_kwargs = tuple((k, self._ir_tree(v, deps)) for k, v in kwargs.items())
        node = self.builder.add(
            task.kind, task.name, ir_args, ir_kwargs, fn=op, location=location,
            effect=op.effect, deterministic=op.deterministic,
        )
        self.schedule.reuse(task, node.id)
        assert node.output is not None
        self._vars[task] = node.output

    def _eager_value(self, task: Task) -> Any:
        self.schedule.wait(task)
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
        if self.schedule.failure is not None:
            raise DeferredFailure()
        location, mode = inspect_site(self.boundary, self.learned)
        if self.eager or mode is CallMode.EAGER:
            self.barriers.append(BarrierRecord(name, location))
            return fn(*self._materialize_tree(args, name), **self._materialize_tree(kwargs, name))
        task = self._record(NodeKind.LIFTED, name, fn, args, kwargs, location)
        return Lazy(task, self)

    def force(self, lazy: Lazy, reason: str) -> Any:
        """The value behind ``lazy``: a barrier (waits, records where)."""
        task: Task = object.__getattribute__(lazy, "_xcs_task")
        if context.current_trace() is not self or self.finished:
            return _outside_value(task)
        location, _ = inspect_site(self.boundary, None)
        self.barriers.append(BarrierRecord(reason, location))
        var = self._vars.get(task)
        self.builder.add(NodeKind.BARRIER, reason, (var,) if var is not None else (), (),
                         fn=None, location=location)
        return self.value_of(task)

    def value_of(self, task: Task) -> Any:
        """Wait for ``task``; its value, or ``DeferredFailure`` if it did not succeed."""
        if task.state is not TaskState.DONE:
            self.schedule.wait(task)
            if task.state is not TaskState.DONE:
                raise DeferredFailure()
        return task.value

    def materialize(self, value: Any) -> Any:
        """``value`` with every lazy leaf replaced by its value (lists/dicts in place).

        Walks lists, tuples (named too), dicts, sets and dataclass instances.
        """
        return self._materialize(value, "return", {})

    def _materialize_tree(self, value: Any, reason: str) -> Any:
        return self._materialize(value, reason, {})

    def _materialize(self, value: Any, reason: str, seen: dict[int, Any]) -> Any:
        if type(value) is Lazy:
            task = object.__getattribute__(value, "_xcs_task")
            if object.__getattribute__(value, "_xcs_trace") is not self:
                return _outside_value(task)
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
                new = self._materialize(item, reason, seen)
                if new is not item:
                    value[index] = new
            return value
        if isinstance(value, dict):
            seen[key] = value
            for item_key, item in value.items():
                new = self._materialize(item, reason, seen)
                if new is not item:
                    value[item_key] = new
            return value
        if isinstance(value, tuple):
            items = [self._materialize(item, reason, seen) for item in value]
            if all(new is old for new, old in zip(items, value)):
                return value
            rebuilt = kind(*items) if hasattr(value, "_fields") else kind(items)
            seen[key] = rebuilt
            return rebuilt
        if isinstance(value, set | frozenset):
            items = [self._materialize(item, reason, seen) for item in value]
            return value if all(n is o for n, o in zip(items, value)) else kind(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            seen[key] = value
            for field in dataclasses.fields(value):
                item = getattr(value, field.name, None)
                new = self._materialize(item, reason, seen)
                if new is not item:
                    object.__setattr__(value, field.name, new)
            return value
        return value

    # -- recording ------------------------------------------------------------------

    def _record(self, kind: NodeKind, name: str, call: Callable[..., Any],
                args: tuple[Any, ...], kwargs: dict[str, Any], location: SourceLocation | None,
                *, op: Op | None = None, eager: bool = False) -> Task:
        deps: list[Task] = []
        runtime_args = self._runtime_tree(args, deps)
        runtime_kwargs = {k: self._runtime_tree(v, deps) for k, v in kwargs.items()}
        ir_deps: list[Task] = []
        ir_args = self._ir_tree(args, ir_deps)
        ir_kwargs = tuple((k, self._ir_tree(v, ir_deps)) for k, v in kwargs.items())
        node = self.builder.add(
            kind, name, ir_args, ir_kwargs, fn=op if op is not None else call,
            location=location, effect=bool(op and op.effect),
            deterministic=bool(op and op.deterministic) or kind is NodeKind.LIFTED,
        )
        task = Task(
            self.schedule, kind=kind, name=name, call=call, args=runtime_args,
            kwargs=runtime_kwargs, deps=tuple(dict.fromkeys(deps)), order=node.id,
            location=location, op=op, eager=eager,
        )
        assert node.output is not None
        self._vars[task] = node.output
        self.schedule.submit(task)
        return task

    def _runtime_tree(self, tree: Any, deps: list[Task]) -> Any:
        if type(tree) is Lazy:
            task = object.__getattribute__(tree, "_xcs_task")
            if object.__getattribute__(tree, "_xcs_trace") is not self:
                return _outside_value(task)
            deps.append(task)
            return task
        kind = type(tree)
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

    def _ir_tree(self, tree: Any, deps: list[Task]) -> Any:
        if type(tree) is Lazy:
            task = object.__getattribute__(tree, "_xcs_task")
            var = self._vars.get(task)
            if var is not None:
                return var
            return Redacted(task.value) if self.redact else task.value
        kind = type(tree)
        if kind is list:
            return [self._ir_tree(item, deps) for item in tree]
        if kind is dict:
            return {key: self._ir_tree(item, deps) for key, item in tree.items()}
        if kind is tuple:
            return tuple(self._ir_tree(item, deps) for item in tree)
        param = self._param_var(tree)
        if param is not None:
            return param
        return Redacted(tree) if self.redact else tree

    def _param_var(self, value: Any) -> Var | None:
        if self._params is None or type(value) in _SCALARS:
            return None
        if self._param_vars is None:
            self._param_vars = {}
            for name, param in self._params():
                if type(param) not in _SCALARS:
                    self._param_vars.setdefault(id(param), self.builder.add_input(name))
        return self._param_vars.get(id(value))


_SCALARS = frozenset({int, float, bool, complex, type(None)})
_ATOMS = frozenset({str, bytes, int, float, bool, complex, type(None)})


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
    if new_task and old_task and new.kind is NodeKind.LIFTED and old.kind is NodeKind.LIFTED:
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
