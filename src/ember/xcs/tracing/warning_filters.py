"""Glue that changes the warnings filters first waits for the ops issued before it.

The filters (``warnings.filters``, and ``showwarning`` under ``catch_warnings(record=
True)``) are the process's, read when an op warns. In plain Python every op written
before ``warnings.simplefilter("error")`` or ``with warnings.catch_warnings():`` had
warned already, under the filters of its time; under ``@jit`` it may still run, or run
only when a barrier inside the block needs its value, and would meet the new filters:
its warning raised as an error, silenced, or recorded by a block it was never in. So
a call of ``simplefilter``, ``filterwarnings``, ``resetwarnings`` or of
``catch_warnings`` (or a subclass) first waits for every op and lifted operation issued
so far (``tracing.earlier``); ``explain`` lists it as a barrier. Ops issued after it
run with the new filters, as in plain Python.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

__all__ = ["REASON", "changes_filters"]

REASON = "warnings filters changed"


def changes_filters(fn: Any) -> bool:
    """Whether calling ``fn`` changes the warnings filters (see the module docstring)."""
    if type(fn) is types.FunctionType:
        return fn is warnings.simplefilter or fn is warnings.filterwarnings \
            or fn is warnings.resetwarnings
    return type(fn) is type and issubclass(fn, warnings.catch_warnings)
