"""What running an op has shown: how long its runs take, and what its results are.

The engine records both (``Op.observe``, ``Op.last_type``); ``Op.runs_inline`` and
``Op.result_type`` read them.
"""

from __future__ import annotations

import inspect
import threading
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["INLINE_AFTER", "INLINE_LIMIT", "SLOW_LIMIT", "UNRESOLVED", "RunTiming",
           "return_class", "timing_lock"]

INLINE_AFTER = 16  # runs observed before an op may run inline
INLINE_LIMIT = 100e-6  # the running average of run times must stay below this
SLOW_LIMIT = 20e-3  # a run this long (far beyond GIL switching) stops inlining
UNRESOLVED: Any = object()  # an op's return annotation, not looked at yet


def return_class(fn: Callable[..., Any]) -> type | None:
    """The class ``fn``'s return annotation names, if it names one."""
    try:
        hint = typing.get_type_hints(inspect.unwrap(fn)).get("return")
    except Exception:  # unresolvable names, objects without annotations: not known
        return None
    return hint if isinstance(hint, type) else None


class RunTiming:
    """How long an op's runs took (shared by all bindings of a method op).

    ``slow`` rises by one for each run over ``SLOW_LIMIT`` and falls by a hundredth for
    each faster one: an op that really waits on I/O stays above 1, while a tiny op
    that was once descheduled mid-run (a busy machine) soon runs inline again.
    """

    __slots__ = ("average", "never_inline", "runs", "slow")

    def __init__(self) -> None:
        self.runs = 0
        self.average = 0.0
        self.slow = 0.0
        self.never_inline = False


timing_lock = threading.Lock()  # guards every RunTiming update (held for a few statements)
