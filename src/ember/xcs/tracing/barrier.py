"""``Barrier``: a point where the glue of a jitted call needed a real value."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.xcs.engine.task import Task
    from ember.xcs.ir.graph import SourceLocation

__all__ = ["Barrier"]

# Reasons found in the code before it ran: the rewriter put a check there (``is``,
# ``match``, ``raise``, ``except``, an ``assert``'s message, unpacking, a lazy index on a real
# container, an f-string or ``%`` that must format at once, a special attribute read with
# a dot), or a call of code that is not an op (or that changes the warnings filters); or
# an op runs at once because its code says so (a try/with block around it, in the code's
# exception table, a case pattern reading it, a special method calling it, or
# effect=True on the op). Every other reason was asked for at run time by the value
# itself (``bool``, ``iter``, ``hash``, ``__index__``, ``len`` from code without source
# or C code...) or by the values an op was given (an iterator), or by a serial run.
_STATIC_REASONS = frozenset({"is", "match", "unpacking", "** unpacking", "index", "f-string",
                             "%", "raise", "raise ... from", "except", "assert message",
                             "warnings filters changed"})
_STATIC_PREFIXES = ("call of ", ".__", "eager op (try/with)", "eager op (match pattern)",
                    "eager op (special method)", "eager op (attribute probe)",
                    "eager op (effect)")
_DYNAMIC_REASONS = frozenset({"call of an op result"})  # the lazy value's own __call__
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
        reason = self.reason
        if reason.startswith(_LEARNED_REASONS):
            return "learned"
        if reason in _STATIC_REASONS or (reason.startswith(_STATIC_PREFIXES)
                                         and reason not in _DYNAMIC_REASONS):
            return "static"
        return "dynamic"

    def __str__(self) -> str:
        return f"{self.reason} at {self.location or '<unknown>'}"
