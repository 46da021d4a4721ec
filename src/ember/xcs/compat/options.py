"""The seed's option types ``JITOptions`` and ``XCSExecutionOptions`` (``ember.xcs.api.types``).

``XCSExecutionOptions`` is ``ember.xcs.graphs.ExecutionOptions`` (what
``execution_options`` builds). ``JITOptions`` carries the seed's ``jit`` knobs for
``XCSAPI.jit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ember.xcs.config import Config
from ember.xcs.errors import ConfigError
from ember.xcs.graphs.options import ExecutionOptions

__all__ = ["JITOptions", "XCSExecutionOptions"]

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

    Raises:
        ConfigError: a field has the wrong type, or ``recursive=False``.
    """

    sample_input: Mapping[str, Any] | None = None
    force_trace: bool = False
    recursive: bool = True
    config: Config | None = None

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
        if self.config is not None and not isinstance(self.config, Config):
            raise ConfigError(
                f"JITOptions.config must be a Config or None, got {type(self.config).__name__}."
            )
