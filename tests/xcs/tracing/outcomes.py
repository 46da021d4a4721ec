"""How a call ended, in a form a plain run and a jitted run can be compared by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def outcome(fn: Callable[..., Any], *args: Any, calls: list[str] | None = None
            ) -> tuple[Any, ...]:
    """``("ok", value)`` or ``("raised", type, message)``; with ``calls`` (a log the ops
    append to, emptied first) what it holds afterwards is the last item."""
    if calls is not None:
        calls.clear()
    try:
        ended: tuple[Any, ...] = ("ok", fn(*args))
    except Exception as error:  # noqa: BLE001 - compared with plain Python's
        ended = ("raised", type(error), str(error))
    return ended if calls is None else (*ended, list(calls))
