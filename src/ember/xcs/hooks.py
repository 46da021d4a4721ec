"""Hooks: observe jitted calls and graph executions without changing their results.

A hook is any object with some of these methods (all optional):

=====================================  ==============================================
``on_graph_start(name)``               a jitted call or ``execute`` begins
``on_node_start(event)``               an op node's body is about to run
``on_node_end(event)``                 it returned (``event.duration`` in seconds)
``on_node_error(event)``               it raised (``event.error`` is the exception)
``on_cache_hit(name)``                 (jit) the call's graph has the last call's shape
``on_cache_miss(name)``                (jit) the call's graph has a new shape
``on_call_end(summary)``               (jit) what the call did: a ``CallSummary``
``on_graph_end(name, seconds, error)`` the call is over; ``error`` is what it raises
=====================================  ==============================================

Order: ``on_graph_start`` first; then for each op node ``on_node_start`` followed by
exactly one of ``on_node_end`` / ``on_node_error`` (nodes run concurrently, so events of
different nodes interleave); then, for ``jit`` only, one of ``on_cache_hit`` /
``on_cache_miss`` (named by the seeds: nothing is cached, the events say whether the
graph's shape repeated; a call that issued no op has no graph and sends neither) and
``on_call_end``; ``on_graph_end`` last, also when the call
fails or is interrupted. Every node event of a call arrives before its
``on_graph_end``. Lifted nodes (``x["key"]``) send no events. Node events arrive on the
thread that ran the node. A call in tensor mode (``jax.jit``) sends only
``on_graph_start`` and ``on_graph_end``.

Register a hook for the whole process with ``register_hook``, or for one function with
``Config(hooks=[...])`` (one ``execute`` with ``execution_options(hooks=[...])``);
global hooks are called first. The hooks of a call are fixed as it starts
(``hooks_for``): a hook (un)registered meanwhile hears all of that call or none of it.
A hook that raises is reported through the ``ember.xcs`` logger and otherwise
ignored: it never changes a result, and the other hooks still run. Hooks run outside
the call they observe: no trace is active while one runs, so an op it calls is a plain
call, and a jitted function it calls is its own call.

Example:
    >>> class Printer:
    ...     def on_node_end(self, event):
    ...         print("done:", event.name)
    >>> from ember.xcs import Config, jit, op
    >>> @op
    ... def inc(x):
    ...     return x + 1
    >>> jit(lambda x: inc(x), config=Config(hooks=[Printer()]))(1)
    done: inc
    2
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ember.xcs.ir.graph import NodeKind, SourceLocation
from ember.xcs.tracing import context as trace_context

__all__ = [
    "HOOK_METHODS",
    "CallHooks",
    "CallSummary",
    "HookSource",
    "NodeEvent",
    "hook_problem",
    "hooks_for",
    "redacting",
    "register_hook",
    "registered_hooks",
    "unregister_hook",
]

HOOK_METHODS = (
    "on_graph_start",
    "on_graph_end",
    "on_call_end",
    "on_node_start",
    "on_node_end",
    "on_node_error",
    "on_cache_hit",
    "on_cache_miss",
)
"""The method names a hook may define (each one optional, at least one present)."""

_lock = threading.Lock()
_global: tuple[Any, ...] = ()
_logger = logging.getLogger("ember.xcs")


class _Hearing(threading.local):
    """Per thread, while hooks are called: whether their call keeps no values."""

    redact = False


_hearing = _Hearing()


def redacting() -> bool:
    """Whether the call whose event the running hook method handles keeps no values
    (``Config(redact=True)``, ``Presets.SECURE``).

    A hook should then keep no values either: ``NodeEvent.result`` is already ``None``,
    and of an exception it should keep the type, not the message or traceback (which
    may quote argument values). Outside a hook method it is ``False``.

    Example:
        >>> redacting()
        False
    """
    return _hearing.redact


class HookSource(Protocol):
    """Anything carrying per-call hooks: a ``Config`` or ``ExecutionOptions``."""

    @property
    def hooks(self) -> tuple[Any, ...]:
        """The hooks to call besides the global ones."""
        ...


@dataclass(frozen=True)
class NodeEvent:
    """What a hook learns about a node.

    Attributes:
        node: the node id (program order within the call or graph).
        name: the op's display name.
        location: where user code called it.
        duration: seconds the body ran (``on_node_end``/``on_node_error``), else 0.
        error: the exception (``on_node_error`` only).
        kind: ``"op"`` or ``"tensor"``.
        call: identifies the call (or graph execution) the node belongs to: events of
            one call share it; it may be reused once that call is over.
        context: the ``contextvars.Context`` the body runs in (a copy of the caller's,
            taken when the op was called). ``context.get(var)`` reads what the caller
            had set; ``context.run(var.set, value)`` in ``on_node_start`` sets a value
            the body will see (this is how tracing spans become the body's parent).
        result: what the body returned (``on_node_end`` only; ``None`` under
            ``redact=True``, which keeps no values).
    """

    node: int
    name: str
    location: SourceLocation | None
    duration: float = 0.0
    error: BaseException | None = None
    kind: str = "op"
    call: int = 0
    context: contextvars.Context | None = None
    result: Any = None


def hook_problem(hook: Any) -> str | None:
    """Why ``hook`` cannot serve as a hook, or ``None`` when it can.

    A hook is an object (an instance, not a class) with at least one of the methods
    in ``HOOK_METHODS``; each of those it has must be callable.

    Example:
        >>> class Printer:
        ...     def on_node_end(self, event):
        ...         print(event.name)
        >>> hook_problem(Printer()) is None
        True
        >>> hook_problem(1)
        'int 1 has none of the hook methods (on_graph_start, ...)'
    """
    text = repr(hook)
    shown = f"{type(hook).__name__} {text if len(text) <= 60 else text[:59] + '…'}"
    if isinstance(hook, type):
        if any(callable(getattr(hook, name, None)) for name in HOOK_METHODS):
            return f"{hook.__name__} is a class; pass an instance: {hook.__name__}()"
        return f"class {hook.__name__} has none of the hook methods ({', '.join(HOOK_METHODS)})"
    present = [name for name in HOOK_METHODS if getattr(hook, name, None) is not None]
    if not present:
        return f"{shown} has none of the hook methods ({', '.join(HOOK_METHODS)})"
    for name in present:
        if not callable(getattr(hook, name)):
            return f"{shown} has {name}, but it is not callable"
    return None


@dataclass(frozen=True)
class CallSummary:
    """What one jitted call did, for ``on_call_end`` (counts, not values).

    Attributes:
        name: the jitted function's name.
        seconds: the call's wall time.
        nodes: nodes of its graph (ops, lifted operations and barriers).
        ops: op nodes.
        barriers: places where the glue waited for a value.
        error: what the call raises, if anything.
    """

    name: str
    seconds: float
    nodes: int
    ops: int
    barriers: int
    error: BaseException | None = None


def register_hook(hook: Any) -> None:
    """Call ``hook``'s methods for every jitted call and graph execution in the process.

    A hook registered again, or also given in ``Config(hooks=...)``, is still called
    once per event.

    Raises:
        ConfigError: ``hook`` does not implement the hook protocol (see ``hook_problem``).
    """
    global _global
    problem = hook_problem(hook)
    if problem is not None:
        from ember.xcs.errors import ConfigError

        raise ConfigError(f"register_hook: not a hook: {problem}.")
    with _lock:
        if not any(h is hook for h in _global):  # registered twice: still heard once
            _global = (*_global, hook)


def unregister_hook(hook: Any) -> None:
    """Stop calling ``hook`` (no error if it was not registered)."""
    global _global
    with _lock:
        _global = tuple(h for h in _global if h is not hook)


def registered_hooks() -> tuple[Any, ...]:
    """The globally registered hooks."""
    return _global


def _call(hooks: tuple[Any, ...], redact: bool, method: str, *args: Any) -> None:
    """Call ``method(*args)`` on each hook that has it; report and ignore failures.

    No trace is active while a hook runs: hooks are not part of the call they observe,
    so an op a hook calls is a plain call (under the call's trace it would become a node
    of that call, and a hook on an op it runs inline would hear its own ops' events).
    ``redact``: what ``redacting()`` says meanwhile.
    """
    local = trace_context._local
    trace, plain = local.trace, local.plain
    local.trace, local.plain = None, local.disabled > 0
    hearing = _hearing
    redacted, hearing.redact = hearing.redact, redact
    try:
        for hook in hooks:
            target = getattr(hook, method, None)
            if target is None:
                continue
            try:
                target(*args)
            except BaseException as error:  # a hook must never change a result
                if isinstance(error, KeyboardInterrupt) \
                        and threading.current_thread() is threading.main_thread():
                    raise  # Ctrl-C while a hook ran: the user's, not the hook's
                # SystemExit too: on an engine thread it would end the thread, and the
                # call would wait forever for the node it was reporting.
                _logger.warning("ember.xcs hook %r raised in %s: %r; ignored", hook, method,
                                error)
    finally:
        local.trace, local.plain = trace, plain
        hearing.redact = redacted


def _hooks_of(config: HookSource) -> tuple[Any, ...]:
    """The global hooks, then ``config``'s, each hook once (by identity)."""
    hooks = (*_global, *config.hooks)
    if len(hooks) < 2:
        return hooks
    unique: dict[int, Any] = {}
    for hook in hooks:
        unique.setdefault(id(hook), hook)
    return tuple(unique.values())


class CallHooks:
    """The hooks of one call (or graph execution), taken once as it starts (``hooks_for``).

    Every event of the call goes to these hooks, even if hooks are registered or
    unregistered while it runs: a hook hears all of a call's events or none of them
    (never an ``on_graph_end`` without its ``on_graph_start``, nor node events of a call
    it did not hear start).

    Attributes:
        hooks: the hooks, global ones first, each once.
        redact: the call keeps no values (``Config(redact=True)``).
        listener: the scheduler listener (``listener(event, task)``), which turns the
            engine's node events into ``NodeEvent``s for these hooks.
    """

    __slots__ = ("hooks", "listener", "redact")

    def __init__(self, hooks: tuple[Any, ...], redact: bool) -> None:
        self.hooks = hooks
        self.redact = redact
        self.listener = _listener(hooks, redact)

    def emit(self, method: str, *args: Any) -> None:
        """Call ``method(*args)`` on every hook that has it."""
        _call(self.hooks, self.redact, method, *args)


def hooks_for(config: HookSource) -> CallHooks | None:
    """The hooks of a call made with ``config`` now (``None`` when there are none): the
    global ones, then ``config``'s, each once."""
    hooks = _hooks_of(config)
    if not hooks:
        return None
    return CallHooks(hooks, bool(getattr(config, "redact", False)))


_METHODS = {"start": "on_node_start", "end": "on_node_end", "error": "on_node_error"}


def _listener(hooks: tuple[Any, ...], redact: bool) -> Callable[[str, Any], None]:
    """The scheduler listener for ``hooks``: ``(event, task)`` calls become ``NodeEvent``s."""

    def listener(event: str, task: Any) -> None:
        if task.kind is NodeKind.LIFTED:
            return
        info = NodeEvent(
            _task_id(task), task.name, task.location,
            task.duration if event != "start" else 0.0, task.error,
            task.kind.value, id(_task_call(task)), task.context,
            task.value if event == "end" and not redact else None,
        )
        _call(hooks, redact, _METHODS[event], info)

    return listener


# The engine's task objects are being reworked (``order``/``schedule`` becoming
# ``id``/``run``); these two read whichever the running engine has.
def _task_id(task: Any) -> int:
    order = getattr(task, "order", None)
    return int(order if order is not None else task.id)


def _task_call(task: Any) -> Any:
    schedule = getattr(task, "schedule", None)
    return schedule if schedule is not None else task.run
