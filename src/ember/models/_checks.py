"""Eager checks of provider and policy settings, with errors that name the field.

Settings are checked when the object is made, so ``OpenAIProvider(timeout=-5)`` fails
on that line instead of inside a socket call minutes later.
"""

from __future__ import annotations

import inspect
import math
import types
from typing import TypeVar
from urllib.parse import urlsplit

from ember.models._text import clip
from ember.models.errors import InvalidParamsError

T = TypeVar("T")
_COROUTINE = types.CoroutineType

__all__ = [
    "awaited_hook",
    "check_base_url",
    "check_flag",
    "check_instance",
    "check_number",
    "check_positive_int",
    "check_text",
]


def check_number(
    owner: str, name: str, value: object, *, low: float = 0.0, low_open: bool = True
) -> float:
    """``value`` as a float when it is a finite number above ``low`` (or at least it).

    Raises:
        InvalidParamsError: wrong type, NaN, infinite, or out of range; the message is
            ``owner(name=...)`` and the rule.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        in_range = number > low if low_open else number >= low
        if math.isfinite(number) and in_range:
            return number
    rule = f"> {low:g}" if low_open else f">= {low:g}"
    raise InvalidParamsError(
        f"{owner}({name}=...) must be a finite number {rule}, got {clip(value)}."
    )


def check_positive_int(owner: str, name: str, value: object, *, optional: bool = True) -> None:
    """Accept an int above zero (or ``None`` when ``optional``); ``bool`` does not count.

    Raises:
        InvalidParamsError: naming ``owner(name=...)``.
    """
    if value is None and optional:
        return
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return
    allowed = "a positive int or None" if optional else "a positive int"
    raise InvalidParamsError(f"{owner}({name}=...) must be {allowed}, got {clip(value)}.")


def check_instance(owner: str, name: str, value: object, kind: type) -> None:
    """Accept ``None`` or an instance of ``kind``.

    Raises:
        InvalidParamsError: naming ``owner(name=...)`` and the expected type.
    """
    if value is not None and not isinstance(value, kind):
        raise InvalidParamsError(
            f"{owner}({name}=...) must be a {kind.__name__} or None, "
            f"got {type(value).__name__} {clip(value)}."
        )


def check_flag(owner: str, name: str, value: object) -> None:
    """Accept ``True`` or ``False`` only.

    Raises:
        InvalidParamsError: naming ``owner(name=...)``.
    """
    if not isinstance(value, bool):
        raise InvalidParamsError(f"{owner}({name}=...) must be True or False, got {clip(value)}.")


def check_text(owner: str, name: str, value: object) -> None:
    """Accept ``None`` or a non-empty str.

    Raises:
        InvalidParamsError: naming ``owner(name=...)``.
    """
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidParamsError(
            f"{owner}({name}=...) must be a non-empty str or None, "
            f"got {type(value).__name__} {clip(value)}."
        )


def check_base_url(owner: str, value: object, *, source: str = "base_url") -> None:
    """Accept ``None`` or an absolute ``http(s)://host[:port][/path]`` URL.

    Args:
        owner: the class being built, for the message.
        value: the URL.
        source: where the value came from (``base_url`` or an environment variable).

    Raises:
        InvalidParamsError: naming the source and showing a valid example.
    """
    if value is None:
        return
    problem = None
    if not isinstance(value, str):
        problem = f"got {type(value).__name__} {clip(value)}"
    else:
        try:
            parts = urlsplit(value.strip())
            port = parts.port  # raises ValueError for a port out of range or not a number
        except ValueError as error:
            problem = f"got {clip(value)} ({error})"
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = f"got {clip(value)}"
            elif port == 0:
                problem = f"got {clip(value)} (port 0)"
    if problem is not None:
        where = f"{owner}(base_url=...)" if source == "base_url" else f"{source} (used by {owner})"
        raise InvalidParamsError(
            f"{where} must be an http:// or https:// URL with a host, e.g. "
            f"'http://localhost:8000/v1'; {problem}."
        )



def awaited_hook(owner: object, name: str, pending: T) -> T:
    """``pending``, what the provider hook ``name`` returned, when it can be awaited.

    ``asend`` is awaited on an event loop (under ``@jit``, and by ``models.acall``); a
    plain ``def asend`` that returns its reply at once would fail there with
    ``object ... can't be used in 'await' expression`` while the synchronous calls
    work. A decorated ``async def`` (a wrapper that returns its coroutine) is fine.

    Raises:
        TypeError: ``pending`` is not awaitable; the message names the hook's file:line
            and the fix.
    """
    if type(pending) is _COROUTINE or inspect.isawaitable(pending):  # (an async def's: at once)
        return pending
    hook = getattr(type(owner), name, None)
    code = getattr(inspect.unwrap(hook), "__code__", None) if hook is not None else None
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    raise TypeError(
        f"{type(owner).__qualname__}.{name}{where} must be an 'async def' method: it is "
        f"awaited on an event loop (under @jit and by models.acall), and it returned "
        f"{type(pending).__name__!r}. Fix: write 'async def {name}(self, model, messages, "
        f"params)', or leave it out (the default runs 'send' in a worker thread)."
    )
