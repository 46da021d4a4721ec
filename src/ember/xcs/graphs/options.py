"""``execution_options``: how ``execute`` runs a graph (scheduler, workers, timeout, hooks).

An ``ExecutionOptions`` value is passed to ``execute(graph, options=...)`` or used as a
context manager, which makes it the default for every ``execute`` in the block (in
this thread or asyncio task). Blocks nest: each one sets only the settings given to its
``execution_options(...)``, the rest are those of the enclosing block (hooks add up),
and options passed to ``execute`` are laid over the blocks' the same way.
"""

from __future__ import annotations

import contextvars
import dataclasses
from dataclasses import dataclass
from typing import Any

from ember.xcs.checks import unknown_names
from ember.xcs.config import check_executor, check_hooks, check_timeout, check_workers
from ember.xcs.errors import ConfigError

__all__ = ["SCHEDULERS", "ExecutionOptions", "current_execution_options", "execution_options",
           "layered"]

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
    # The settings this value sets when laid over others (``layered``): the ones given
    # to ``execution_options(...)``; every field for an ``ExecutionOptions(...)`` built
    # directly.
    given: frozenset[str] | None = dataclasses.field(default=None, repr=False,
                                                    compare=False)

    DEFAULT_MAX_WORKERS = 64

    def __post_init__(self) -> None:
        _check(self)
        if self.given is None:
            object.__setattr__(self, "given", _FIELDS)

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


class _Unset:
    """The default of an ``execution_options`` argument: not given (inherited)."""

    def __repr__(self) -> str:
        return "<inherited>"


_UNSET: Any = _Unset()


def execution_options(
    *,
    max_workers: int | None = _UNSET,
    scheduler: str = _UNSET,
    timeout: float | None = _UNSET,
    hooks: tuple[Any, ...] | list[Any] = _UNSET,
    executor: Any = _UNSET,
    **unknown: Any,
) -> ExecutionOptions:
    """Options for ``execute``: pass them, or use them as a context manager.

    Only the settings given are set: the others are those of the enclosing
    ``with execution_options(...)`` block, if any, else the defaults below. Hooks add
    up: a block's hooks and an inner block's are all called.

    Args:
        max_workers: cap on op bodies running at once (``None``: 64, the default).
        scheduler: ``"sequential"``, ``"wave"``, ``"parallel"`` or ``"auto"`` (default).
        timeout: seconds before ``XCSTimeoutError`` (``None``, the default: no limit).
        hooks: hooks for these executions only (default: none).
        executor: where op bodies run (see ``ExecutionOptions.executor``; default
            ``"thread"``).

    Returns:
        A frozen ``ExecutionOptions``.

    Raises:
        ConfigError: an unknown setting (with the closest valid name), an unknown
            scheduler, a ``max_workers`` that is not a positive int, a timeout that is
            not a finite positive number of seconds (at most
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
    if unknown:
        valid = sorted(_FIELDS)
        raise ConfigError(
            f"execution_options got unknown setting(s) {unknown_names(unknown, valid)}; "
            f"valid settings are: {', '.join(valid)}."
        )
    given = {"max_workers": max_workers, "scheduler": scheduler, "timeout": timeout,
             "hooks": hooks, "executor": executor}
    given = {name: value for name, value in given.items() if value is not _UNSET}
    if "hooks" in given:
        given["hooks"] = check_hooks("execution_options(hooks=...)", given["hooks"])
    return ExecutionOptions(**given, given=frozenset(given))


def layered(under: ExecutionOptions, over: ExecutionOptions) -> ExecutionOptions:
    """``over``'s given settings laid over ``under``'s (hooks: ``under``'s, then
    ``over``'s)."""
    assert over.given is not None and under.given is not None
    if not under.given or (over.given == _FIELDS and not under.hooks):
        return over  # nothing of under's stays (its unset fields are the defaults)
    changes = {name: getattr(over, name) for name in over.given}
    if "hooks" in changes:
        changes["hooks"] = (*under.hooks, *changes["hooks"])
    return dataclasses.replace(under, **changes, given=under.given | over.given)


def current_execution_options() -> ExecutionOptions:
    """The options in effect here: the active ``with execution_options(...)`` blocks,
    each laid over the one enclosing it (defaults when there is none)."""
    effective = _DEFAULT
    for options in _active.get():
        effective = layered(effective, options)
    return effective


_FIELDS = frozenset(("max_workers", "scheduler", "timeout", "hooks", "executor"))
_DEFAULT = ExecutionOptions(given=frozenset())
