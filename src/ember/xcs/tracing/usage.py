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
    cls = type(value)
    if _OWN.get(cls):  # Ember's own class, no ``usage`` on it: the instance's entry
        return object.__getattribute__(value, "__dict__").get("usage")
    found = _static_usage(value)
    if found is _MISSING:
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


_MISSING = object()
# Per class of Ember's own (never changed after import): whether its instances keep
# ``usage`` in their ``__dict__`` only (no class in the MRO names it), as a ``Response``
# does. Each entry is a pure function of the class: written in one store, no lock.
_OWN: dict[type, bool] = {}
_MRO = type.__dict__["__mro__"].__get__
_NAMESPACE = type.__dict__["__dict__"].__get__


def _static_usage(value: Any) -> Any:
    """``inspect.getattr_static(value, "usage")`` (``_MISSING`` when absent), without its
    cost (about 7 µs) for an ordinary instance: a class attribute that is a data
    descriptor, else the instance's own ``__dict__`` entry, else the class attribute."""
    cls = type(value)
    if isinstance(value, type) or type(cls) is not type:  # a class, or a metaclass's
        try:
            return inspect.getattr_static(value, "usage")
        except AttributeError:
            return _MISSING
    on_class = _MISSING
    for klass in _MRO(cls):
        namespace = _NAMESPACE(klass)
        if "usage" in namespace:
            on_class = namespace["usage"]
            break
    if on_class is not _MISSING:
        kind = type(on_class)
        if isinstance(on_class, _SLOTS) or (hasattr(kind, "__get__") and (
                hasattr(kind, "__set__") or hasattr(kind, "__delete__"))):
            return on_class  # a data descriptor: the instance's dict cannot shadow it
    try:
        own = object.__getattribute__(value, "__dict__")
    except AttributeError:
        own = None
    if type(own) is dict and "usage" in own:
        return own["usage"]
    return on_class


_PLAIN = frozenset({int, float, bool, complex, type(None), str, bytes, set, frozenset})
_WALKED = 256  # a list, tuple or dict longer than this is not looked into
_DEPTH = 2  # how deep containers are looked into


def _usages(value: Any, depth: int, found: dict[int, Any]) -> None:
    """Collect the usage objects ``value`` carries, each once (keyed by ``id``): its own
    ``usage``, and in a dict, list or tuple (up to ``_DEPTH`` deep) the items' and a
    ``"usage"`` entry (a raw reply's counts, a ``Usage`` or a dict)."""
    cls = type(value)
    if cls in _PLAIN:
        return
    if cls is dict or issubclass(cls, dict):  # a subclass (NonResult) read as a dict is
        if dict.__len__(value) > _WALKED:  # read by dict's own methods: no code of its own
            return
        usage = dict.get(value, "usage")
        if usage is not None and (type(usage) is dict or usage_of(usage) is None):
            found.setdefault(id(usage), usage)
        if cls is not dict and (own := usage_of(value)) is not None:  # its attribute
            found.setdefault(id(own), own)
        items: Any = dict.values(value)
    elif cls is list or cls is tuple:
        if len(value) > _WALKED:
            return
        items = value
    else:
        usage = usage_of(value)
        if usage is not None:
            found.setdefault(id(usage), usage)
        return
    if depth:
        for item in items:
            _usages(item, depth - 1, found)


def _own_instance_usage(cls: type) -> bool:
    """Whether ``cls`` is Ember's own and its instances' ``usage`` is a ``__dict__`` entry."""
    return (type(cls) is type and not issubclass(cls, type)
            and str(cls.__module__).startswith("ember.")
            and "__dict__" in dir(cls) and getattr(cls, "__getattr__", None) is None
            and not any("usage" in _NAMESPACE(klass) for klass in _MRO(cls)))


def count_usage(value: Any, tokens: dict[str, int], counted: dict[int, Any]) -> None:
    """Add the token usage ``value`` carries: a model response's, or those a dict (of
    any dict class: the NON classes' ``NonResult``), list or tuple holds (model
    responses, a ``"usage"`` entry).

    ``counted`` holds the usages already added (by ``id``; the dict keeps them alive),
    shared by every op result of one call: a response an op passes on (a vote, a
    judge's pick) was paid for once, by the op that made it.
    """
    cls = type(value)
    if cls is dict or cls is list or cls is tuple or (cls not in _PLAIN
                                                      and issubclass(cls, dict)):
        found: dict[int, Any] = {}
        _usages(value, _DEPTH, found)
        for key, usage in found.items():
            _count(key, usage, tokens, counted)
    elif cls not in _PLAIN:  # one object (a model response): no search
        if cls not in _OWN:
            _OWN[cls] = _own_instance_usage(cls)
        usage = usage_of(value)
        if usage is not None:
            _count(id(usage), usage, tokens, counted)


def _count(key: int, usage: Any, tokens: dict[str, int], counted: dict[int, Any]) -> None:
    """Add the counts of ``usage`` (``key``: its id), unless the call counted it already."""
    if key not in counted:
        counted[key] = usage
        is_dict = type(usage) is dict
        for name in _COUNTS:
            if is_dict:
                count = usage.get(name)
            else:
                try:
                    count = getattr(usage, name, None)
                except Exception:
                    continue
            if type(count) is int or (isinstance(count, int) and not isinstance(count, bool)):
                tokens[name] = tokens.get(name, 0) + count


_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")
