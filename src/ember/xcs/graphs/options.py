"""``execution_options``: how ``execute`` runs a graph (scheduler, workers, timeout, hooks).

An ``ExecutionOptions`` value is passed to ``execute(graph, options=...)`` or used as a
context manager, which makes it the default for every ``execute`` in the block (in
this thread or asyncio task; blocks nest, the innermost wins).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from ember.xcs.config import check_executor, check_hooks, check_timeout, check_workers
from ember.xcs.errors import ConfigError

__all__ = ["SCHEDULERS", "ExecutionOptions", "current_execution_options", "execution_options"]

SCHEDULERS = ("auto", "sequential", "wave", "parallel")

_active: contextvars.ContextVar[tuple[ExecutionOptions, ...]] = contextvars.ContextVar(
    "ember_xcs_execution_options", default=()
)


@dataclass(frozen=True)
class ExecutionOptions:
    """Settings of a graph execution (build it with ``execution_options``).

    Attributes:
        max_workers: cap on op bodies running at once (``None``: 64).
        scheduler: ``"sequential"`` (program order, calling thread), ``"wave"`` (level
            by level; each level runs concurrently and is awaited as a whole),
            ``"parallel"`` (each node starts as soon as its inputs exist) or ``"auto"``
            (``parallel`` when two ops can run at once, else ``sequential``).
        timeout: seconds the whole execution may take before ``XCSTimeoutError``.
        hooks: extra hooks for executions with these options (see ``ember.xcs.hooks``).
        executor: where op bodies run: ``"thread"`` (default), ``"sync"``,
            ``"process"`` or any ``concurrent.futures.Executor`` (e.g. a Dask one from
            ``ember.xcs.dask_executor``). The ``sequential`` scheduler always runs
            ops in the calling thread.
    """

    max_workers: int | None = None
    scheduler: str = "auto"
    timeout: float | None = None
    hooks: tuple[Any, ...] = ()
    executor: Any = "thread"

    DEFAULT_MAX_WORKERS = 64

    def __post_init__(self) -> None:
        _check(self)

    @property
    def workers(self) -> int:
        """The effective cap on concurrently running ops."""
        return self.max_workers if self.max_workers is not None else self.DEFAULT_MAX_WORKERS

    def __enter__(self) -> ExecutionOptions:
        _active.set((*_active.get(), self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        stack = _active.get()
        if not stack or stack[-1] is not self:
            raise ConfigError(
                "execution_options blocks were exited out of order; use each one in a "
                "single `with` statement."
            )
        _active.set(stack[:-1])


def _check(options: ExecutionOptions) -> None:
    """The checks ``Config`` makes, on the settings both have (one implementation)."""
    check_workers("execution_options(max_workers=...)", options.max_workers)
    if not isinstance(options.scheduler, str) or options.scheduler not in SCHEDULERS:
        raise ConfigError(
            f"execution_options(scheduler={options.scheduler!r}): expected one of "
            f"{', '.join(map(repr, SCHEDULERS))}."
        )
    check_timeout("execution_options(timeout=...)", options.timeout)
    check_executor("execution_options(executor=...)", options.executor)
    object.__setattr__(options, "hooks", check_hooks("execution_options(hooks=...)",
                                                     options.hooks))


def execution_options(
    *,
    max_workers: int | None = None,
    scheduler: str = "auto",
    timeout: float | None = None,
    hooks: tuple[Any, ...] | list[Any] = (),
    executor: Any = "thread",
) -> ExecutionOptions:
    """Options for ``execute``: pass them, or use them as a context manager.

    Args:
        max_workers: cap on op bodies running at once (``None``: 64).
        scheduler: ``"sequential"``, ``"wave"``, ``"parallel"`` or ``"auto"``.
        timeout: seconds before ``XCSTimeoutError`` (``None``: no limit).
        hooks: hooks for these executions only.
        executor: where op bodies run (see ``ExecutionOptions.executor``).

    Returns:
        A frozen ``ExecutionOptions``.

    Raises:
        ConfigError: an unknown scheduler, a ``max_workers`` that is not a positive int,
            a timeout that is not a finite positive number of seconds (at most
            ``ember.xcs.config.MAX_TIMEOUT``), a bad executor, or a hook that is not a
            hook; the same checks as ``Config``.

    Example:
        >>> opts = execution_options(max_workers=4, scheduler="parallel")
        >>> opts.scheduler
        'parallel'
        >>> with execution_options(scheduler="wave"):
        ...     current_execution_options().scheduler
        'wave'
    """
    return ExecutionOptions(max_workers=max_workers, scheduler=scheduler, timeout=timeout,
                            hooks=check_hooks("execution_options(hooks=...)", hooks),
                            executor=executor)


def current_execution_options() -> ExecutionOptions:
    """The options of the innermost active ``with execution_options(...)`` (or defaults)."""
    stack = _active.get()
    return stack[-1] if stack else _DEFAULT


_DEFAULT = ExecutionOptions()
