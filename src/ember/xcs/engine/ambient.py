"""The caller's context a task's body runs in, and the decimal context it is given.

Every task runs in a copy of the caller's ``contextvars`` context, taken when the glue
issued it (``enter``): a ``ContextVar`` the glue sets afterwards does not reach it, as
in plain Python, where the body had finished by then.

The decimal context is held in such a variable, but it is one mutable object: the copy
shares it, and the glue changes it in place (``getcontext().prec = 4``,
``ctx.traps[DivisionByZero] = False``), then back, while a lifted ``Decimal(r) / 3`` or
an op's body has still to run. So a task the glue does not wait for at once gets its own
copy of the decimal context as it was when it was issued: its precision, rounding and
traps are the ones plain Python would have used. The flags its arithmetic raises are
recorded in that copy and added to the caller's context when the task ends (``leave``),
so that ``ctx.flags[Inexact]`` read after the value is known says what it says in plain
Python; so are the settings an op's body changed in it (``getcontext().prec = 6``), as
any change an op makes to the glue's objects. An eager task (the glue waits for it at
once) shares the caller's context, as in plain Python.

Example:
    >>> import decimal, sys
    >>> from types import SimpleNamespace
    >>> task = SimpleNamespace(eager=False, context=None, decimal=None, op=None)
    >>> decimal.getcontext().prec = 4
    >>> enter(task)
    >>> decimal.getcontext().prec = 28
    >>> task.context.run(lambda: decimal.Decimal(1) / 3)
    Decimal('0.3333')
    >>> leave(task)
    >>> bool(decimal.getcontext().flags[decimal.Inexact])
    True
    >>> decimal.getcontext().clear_flags()
"""

from __future__ import annotations

import contextvars
import sys
from typing import Any

__all__ = ["enter", "leave"]

_modules = sys.modules
_SETTINGS = ("prec", "rounding", "Emin", "Emax", "capitals", "clamp")


def enter(task: Any) -> None:
    """Give ``task`` the caller's context as it is now (and its own decimal context)."""
    context = task.context = contextvars.copy_context()
    # No Decimal is computed before decimal is imported (nor while another thread
    # imports it: its functions are read with a default).
    decimal = _modules.get("decimal")
    if decimal is None or task.eager:
        return
    getcontext = getattr(decimal, "getcontext", None)
    setcontext = getattr(decimal, "setcontext", None)
    if getcontext is None or setcontext is None:
        return
    shared = getcontext()
    own = shared.copy()
    own.clear_flags()  # so that ``leave`` adds the flags this task raised, and only those
    context.run(setcontext, own)
    # An op's body may set the context itself (a lifted operation never does): what it
    # sets is told from this copy, and reaches the caller's context when it ends.
    task.decimal = (shared, own, own.copy() if task.op is not None else None)


def leave(task: Any) -> None:
    """Drop ``task``'s context; the decimal flags its body raised, and the settings an
    op's body changed, reach the caller's context."""
    task.context = None
    pinned = task.decimal
    if pinned is None:
        return
    task.decimal = None
    shared, own, before = pinned
    flags = shared.flags
    for signal, raised in own.flags.items():
        if raised:
            flags[signal] = True
    if before is None:
        return
    for name in _SETTINGS:
        value = getattr(own, name)
        if value != getattr(before, name):  # getcontext().prec = 6 in the op's body
            setattr(shared, name, value)
    for signal, trapped in own.traps.items():
        if trapped != before.traps[signal]:
            shared.traps[signal] = trapped
