"""The token usage an op's result carries (a model response), read without side effects."""

from __future__ import annotations

import inspect
import types
from typing import Any

__all__ = ["count_usage", "usage_of"]

_SLOTS = (types.MemberDescriptorType, types.GetSetDescriptorType)


def usage_of(value: Any) -> Any:
    """The ``usage`` a result carries (a model response's token counts), or ``None``.

    Read without running code of the user's: an instance attribute or slot, or a
    property of Ember's own classes. A ``__getattr__`` (``AttrDict``-style results)
    or a property of the user's is not called: plain Python never would.
    """
    try:
        found = inspect.getattr_static(value, "usage")
    except AttributeError:
        return None
    if isinstance(found, _SLOTS):
        try:
            return found.__get__(value, type(value))
        except AttributeError:  # an empty slot
            return None
    if hasattr(type(found), "__get__"):  # a property, a method...: code runs to read it
        if not type(value).__module__.startswith("ember."):
            return None
        try:
            return value.usage
        except Exception:
            return None
    return found


def count_usage(value: Any, tokens: dict[str, int]) -> None:
    """Add the token usage ``value`` carries (a model response), if it carries one."""
    usage = usage_of(value)
    if usage is None:
        return
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        try:
            count = getattr(usage, key, None)
        except Exception:
            continue
        if isinstance(count, int):
            tokens[key] = tokens.get(key, 0) + count
