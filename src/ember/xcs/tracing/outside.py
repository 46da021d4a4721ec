"""Values of lazy values reached outside their own trace: after the call returned, from
another thread, or inside an op body that received a record holding one."""

from __future__ import annotations

from typing import Any

from ember.xcs import tree
from ember.xcs.engine.state import RunStopped
from ember.xcs.engine.task import Task, TaskState
from ember.xcs.tracing.failures import failure_of
from ember.xcs.tracing.lazy import Lazy

__all__ = ["outside_tree", "outside_value", "resolve_records"]

_get = object.__getattribute__


def resolve_records(args: tuple[Any, ...], kwargs: dict[str, Any]
                     ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Resolve lazy values held by records (dataclasses, objects) in the arguments, in place."""
    return (tree.replace(args, outside_value, Lazy, records=True),
            tree.replace(kwargs, outside_value, Lazy, records=True))


def outside_value(lazy: Lazy) -> Any:
    """The value of a lazy value reached outside its own trace (after return, another thread)."""
    task: Task = _get(lazy, "_xcs_task")
    if task.state is not TaskState.DONE and task.run is not None:
        try:
            task.run.wait(task)
        except RunStopped:
            pass
    if task.state is TaskState.DONE:
        return task.value
    raise failure_of(task)


def outside_tree(value: Any) -> Any:
    if type(value) is Lazy:
        return outside_value(value)
    return tree.replace(value, outside_value, Lazy)
