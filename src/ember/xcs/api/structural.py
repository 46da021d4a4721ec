"""``structural_jit``: ``jit`` for Operators, with the seed's execution-strategy knobs."""

from __future__ import annotations

from typing import Any

from ember.xcs.api.jit import JitFunction, _jit_class
from ember.xcs.config import Config, require_config
from ember.xcs.errors import ConfigError

__all__ = ["structural_jit"]

_STRATEGIES = ("auto", "parallel", "sequential")


def structural_jit(fn: Any = None, /, *, execution_strategy: str = "auto",
                   parallel_threshold: int = 2, config: Config | None = None,
                   max_workers: int | None = None) -> Any:
    """``jit`` for Operators, with the seed's knobs.

    Args:
        execution_strategy: ``"auto"`` / ``"parallel"`` run independent ops
            concurrently; ``"sequential"`` runs them in program order.
        parallel_threshold: with ``"auto"``, a call whose previous graph had fewer
            independent ops at its widest point than this runs sequentially (saves
            thread hops on tiny graphs).
        config: base configuration.
        max_workers: shorthand for ``config.max_workers``.

    Raises:
        ConfigError: unknown strategy, a non-positive threshold or a ``config`` that
            is not a ``Config``.
    """
    if execution_strategy not in _STRATEGIES:
        raise ConfigError(
            f"structural_jit(execution_strategy={execution_strategy!r}): expected one of "
            f"{', '.join(map(repr, _STRATEGIES))}."
        )
    if isinstance(parallel_threshold, bool) or not isinstance(parallel_threshold, int) or (
        parallel_threshold <= 0
    ):
        raise ConfigError(
            f"structural_jit(parallel_threshold=...) must be a positive int, got "
            f"{parallel_threshold!r}."
        )
    require_config("structural_jit(config=...)", config)
    base = config if config is not None else Config()
    if max_workers is not None:
        base = base.replace(max_workers=max_workers)
    if execution_strategy == "sequential":
        base = base.replace(parallel=False)
    threshold = parallel_threshold if execution_strategy == "auto" else None

    def wrap(target: Any) -> Any:
        if isinstance(target, type):
            return _jit_class(target, base, threshold)
        return JitFunction(target, base, parallel_threshold=threshold)

    return wrap if fn is None else wrap(fn)
