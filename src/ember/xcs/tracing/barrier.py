"""``Barrier``: a point where the glue of a jitted call needed a real value."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task
    from ember.xcs.ir.graph import SourceLocation

__all__ = ["Barrier"]

_STATIC_REASONS = ("is", "match", "call of", "f-string", "%", "format",
                   # an op run at once because its code says so: a try/with block around
                   # it (in the code's exception table), a case pattern reading it, a
                   # special method calling it, or effect=True on the op
                   "eager op (try/with)", "eager op (match pattern)",
                   "eager op (special method)", "eager op (attribute probe)",
                   "eager op (effect)")
_LEARNED_REASONS = ("learned", "eager op (learned line)")


class Barrier:
    """A point where the glue needed a real value: why, where, and for which task."""

    __slots__ = ("location", "position", "reason", "task")

    def __init__(self, reason: str, location: SourceLocation | None, task: Task | None,
                 position: int) -> None:
        self.reason = reason
        self.location = location
        self.task = task
        self.position = position

    @property
    def kind(self) -> str:
        """``static`` (found in the code before it ran), ``learned`` or ``dynamic``."""
        if self.reason.startswith(_LEARNED_REASONS):
            return "learned"
        if self.reason.startswith(_STATIC_REASONS):
            return "static"
        return "dynamic"

    def __str__(self) -> str:
        return f"{self.reason} at {self.location or '<unknown>'}"
