"""Compatibility module: the seed's option types ``JITOptions`` and ``XCSExecutionOptions``.

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

    XCS traces every call afresh (a stale graph is never replayed), so the seed's
    pre-tracing knobs describe what always happens:

    Attributes:
        sample_input: an example input, kept for documentation and tools
            (``explain(f, inputs=options.sample_input)`` shows its graph). XCS never
            runs the function ahead of time: that would call its ops (and LLMs).
        force_trace: the seed's "re-trace every call"; XCS always does.
        recursive: jitted functions and Operators called inside are traced into the
            caller's graph; XCS always does (``False`` is accepted and changes nothing).
        config: the ``Config`` to run with (default ``Config()``).

    Raises:
        ConfigError: a field has the wrong type.
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
        if self.config is not None and not isinstance(self.config, Config):
            raise ConfigError(
                f"JITOptions.config must be a Config or None, got {type(self.config).__name__}."
            )
