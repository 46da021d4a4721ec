"""Hooks: observe node events of jitted calls without changing their results.

A hook is any object with some of the methods ``on_graph_start(name)``,
``on_graph_end(name, seconds, error)``, ``on_cache_hit(name)``, ``on_cache_miss(name)``,
``on_node_start(event)``, ``on_node_end(event)``, ``on_node_error(event)``. Register it globally with
``register_hook`` or for one function with ``Config(hooks=[...])``. A hook that
raises is reported through the ``ember.xcs`` logger and otherwise ignored.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from ember.xcs.ir.graph import SourceLocation

__all__ = [
    "NodeEvent",
    "emit",
    "listener_for",
    "register_hook",
    "registered_hooks",
    "unregister_hook",
]

_lock = threading.Lock()
_global: tuple[Any, ...] = ()


@dataclass(frozen=True)
class NodeEvent:
    """What a hook learns about a node.

    Attributes:
        node: the node id (program order within the call).
        name: the op's display name.
        location: where user code called it.
        duration: seconds the body ran (``on_node_end``/``on_node_error``), else 0.
        error: the exception (``on_node_error`` only).
    """

    node: int
    name: str
    location: SourceLocation | None
    duration: float = 0.0
    error: BaseException | None = None


def register_hook(hook: Any) -> None:
    """Call ``hook``'s methods for every jitted call in the process."""
    global _global
    with _lock:
        _global = (*_global, hook)


def unregister_hook(hook: Any) -> None:
    """Stop calling ``hook`` (no error if it was not registered)."""
    global _global
    with _lock:
        _global = tuple(h for h in _global if h is not hook)


def registered_hooks() -> tuple[Any, ...]:
    """The globally registered hooks."""
    return _global


def emit(config: Any, method: str, *args: Any) -> None:
    """Call ``method(*args)`` on every hook that has it (global ones first)."""
    hooks = (*_global, *config.hooks)
    for hook in hooks:
        target = getattr(hook, method, None)
        if target is None:
            continue
        try:
            target(*args)
        except Exception as error:  # a hook must never change a result
            logging.getLogger("ember.xcs").warning("hook %r raised in %s: %s", hook, method, error)


_METHODS = {"start": "on_node_start", "end": "on_node_end", "error": "on_node_error"}


def listener_for(config: Any) -> Any:
    """The scheduler listener for ``config`` (``None`` when no hook is registered)."""
    hooks = (*_global, *config.hooks)
    if not hooks:
        return None

    def listener(event: str, task: Any) -> None:
        from ember.xcs.ir.graph import NodeKind

        if task.kind is NodeKind.LIFTED:
            return
        info = NodeEvent(task.order, task.name, task.location,
                         task.duration if event != "start" else 0.0, task.error)
        method_name = _METHODS[event]
        for hook in hooks:
            method = getattr(hook, method_name, None)
            if method is not None:
                method(info)

    return listener
