"""The seed's option types ``JITOptions`` and ``XCSExecutionOptions`` (``ember.xcs.api.types``).

``XCSExecutionOptions`` is ``ember.xcs.graphs.ExecutionOptions`` (what
``execution_options`` builds). ``JITOptions`` carries the seed's ``jit`` knobs for
``XCSAPI.jit`` and pyember's ``jit(options=...)``; ``apply_options`` applies them.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ember.xcs.config import Config, refuse_misplaced
from ember.xcs.errors import ConfigError
from ember.xcs.graphs.options import ExecutionOptions

__all__ = ["JITOptions", "XCSExecutionOptions", "apply_options", "jit_with_options"]

XCSExecutionOptions = ExecutionOptions


@dataclass(frozen=True)
class JITOptions:
    """Options of ``XCSAPI.jit`` (the seed's names).

    XCS traces every call afresh (a stale graph is never replayed). Every field either
    takes effect or is refused:

    Attributes:
        sample_input: an example input as keyword arguments; ``XCSAPI.jit`` checks that
            it fits the function's signature (``ConfigError`` otherwise) and keeps it as
            ``jitted.sample_input`` for tools (``explain(f, **f.sample_input)``). XCS
            never runs the function ahead of time: that would call its ops (and LLMs).
        force_trace: ``True`` asks for a fresh trace on every call, which is what XCS
            always does; ``False`` permits reuse, which XCS never needs.
        recursive: ``True``: jitted functions and Operators called inside are traced
            into the caller's graph (always the case). ``False`` is refused with
            ``ConfigError``: keeping nested calls opaque would serialise their ops.
        config: the ``Config`` to run with (default ``Config()``).
        cache_size: pyember's bound on the execution plans kept for replay (its docs
            pass ``cache_size=100``). XCS keeps no plan to replay (no stale replay), so
            any bound holds: a positive int is accepted and changes nothing.

    Raises:
        ConfigError: a field has the wrong type, ``cache_size`` is not a positive int,
            or ``recursive=False``.
    """

    sample_input: Mapping[str, Any] | None = None
    force_trace: bool = False
    recursive: bool = True
    config: Config | None = None
    cache_size: int | None = None

    def __post_init__(self) -> None:
        if self.sample_input is not None and not isinstance(self.sample_input, Mapping):
            raise ConfigError(
                f"JITOptions.sample_input must be a mapping (e.g. {{'query': 'test'}}) or None, "
                f"got {type(self.sample_input).__name__}."
            )
        for name in ("force_trace", "recursive"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"JITOptions.{name} must be a bool, got {getattr(self, name)!r}.")
        if not self.recursive:
            raise ConfigError(
                "JITOptions(recursive=False) is not supported: XCS always traces jitted "
                "functions and Operators called inside into the caller's graph, so their "
                "ops run concurrently. Drop the option, or call the inner function through "
                "an op (ember.xcs.op) to make it one opaque node."
            )
        size = self.cache_size
        if size is not None and (type(size) is not int or size < 1):
            raise ConfigError(f"JITOptions.cache_size must be a positive int or None, "
                              f"got {size!r}.")
        if self.config is not None and not isinstance(self.config, Config):
            raise ConfigError(
                f"JITOptions.config must be a Config or None, got {type(self.config).__name__}."
            )


def jit_with_options(jit: Callable[..., Any], fn: Any, positional: tuple[Any, ...],
                     config: Config | None, settings: dict[str, Any]) -> Any:
    """pyember's ``jit(fn, options=JITOptions(...))``, which ``ember.xcs.jit`` (passed in
    as ``jit``) hands here: the same as ``XCSAPI().jit(fn, options=...)``, and
    ``config=`` may stand beside ``options`` when the options carry none.

    Raises:
        ConfigError: ``options`` is not a ``JITOptions`` (or ``None``), a ``Config`` is
            given twice, or another argument is misplaced.
    """
    options = settings.pop("options")
    refuse_misplaced("jit()", ("config", "options"), (), positional, settings)
    if options is not None and not isinstance(options, JITOptions):
        raise ConfigError(f"jit(options=...) needs a JITOptions (ember.api.xcs.JITOptions) or "
                          f"None, got {type(options).__name__}.")
    if config is not None and options is not None:
        if options.config is not None:
            raise ConfigError("jit(): a Config given twice, as config= and as "
                              "options=JITOptions(config=...); pass one.")
        options = dataclasses.replace(options, config=config)
    if options is None:
        return jit(fn, config=config) if fn is not None else jit(config=config)
    return apply_options(jit, fn, options)


def apply_options(jit: Callable[..., Any], fn: Any, options: JITOptions | None) -> Any:
    """``jit(fn)`` run with ``options``: its ``config``, and its ``sample_input`` checked
    against ``fn``'s signature and kept as ``jitted.sample_input``; a decorator when
    ``fn`` is ``None``."""
    config = options.config if options is not None else None
    sample = options.sample_input if options is not None else None

    def wrap(target: Any) -> Any:
        if sample is not None:
            _check_sample(target, sample)
        jitted = jit(target, config=config)
        if sample is not None:
            jitted.sample_input = dict(sample)
        return jitted

    return wrap(fn) if fn is not None else wrap


def _check_sample(target: Any, sample: Any) -> None:
    """Refuse a ``sample_input`` that does not fit ``target``'s signature."""
    function = target.forward if isinstance(target, type) and hasattr(target, "forward") else target
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # nothing to check against (a builtin): keep the sample as documentation
    parameters = list(signature.parameters.values())
    if isinstance(target, type) and parameters:
        signature = signature.replace(parameters=parameters[1:])  # drop self
    try:
        if list(signature.parameters) == ["inputs"] and "inputs" not in sample:
            signature.bind(**{next(iter(signature.parameters)): sample})  # the seed's inputs=
        else:
            signature.bind(**sample)
    except TypeError as error:
        raise ConfigError(
            f"JITOptions.sample_input {sorted(sample)} does not fit "
            f"{getattr(target, '__qualname__', target)}{signature}: {error}."
        ) from None
