"""Calls that rebind module globals without naming them in a statement.

``MODE = "b"`` (under ``global MODE``), ``settings.MODE = "b"`` and
``globals()["MODE"] = "b"`` first wait for the op calls still reading the global
(``tracing.guards``, ``tracing.holding``). A call can rebind it too:
``setattr(module, "MODE", "b")``, ``delattr(module, "MODE")``,
``globals().update(MODE="b")``, ``globals().pop("MODE")``. ``runtime.prep`` hands
such a call to ``settle_rebound`` before it runs, which waits for the readers of the
names it changes in the same way.

Example:
    >>> import types
    >>> settings = types.ModuleType("settings")
    >>> rebound_names(setattr, (settings, "MODE", "b"), {})
    ('MODE',)
    >>> rebound_names(vars(settings).update, ({"MODE": "b"},), {"TONE": "calm"})
    ('MODE', 'TONE')
    >>> rebound_names(len, ("MODE",), {}) is None
    True
"""

from __future__ import annotations

import operator
import types
from typing import Any

from ember.xcs.tracing.holding import settle_global

__all__ = ["rebound_names", "settle_rebound"]

_SETS_KEY = frozenset({"__setitem__", "__delitem__", "setdefault", "pop"})
_SETS_EVERY_KEY = frozenset({"clear", "popitem"})
_EVERY: tuple[str, ...] = ("*",)  # a call that may rebind any name of the namespace
_DICT_METHOD = type(dict.update)  # a method of a C class, not bound: dict.update
_DICT_SLOT = type(dict.__setitem__)  # a slot of a C class, not bound: dict.__setitem__


def rebound_names(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
                  ) -> tuple[str, ...] | None:
    """The names a call of ``setattr``/``delattr`` on a module, of a changing method of
    a dict (bound, or the class's given the dict: ``dict.update(globals(), ...)``), of
    ``operator.setitem``/``delitem``, or of ``exec`` given a namespace, rebinds
    (``None``: not such a call; ``("*",)``: any of them)."""
    if fn is setattr or fn is delattr:
        if len(args) > 1 and type(args[0]) is types.ModuleType and type(args[1]) is str:
            return (args[1],)
        return None
    if fn is exec:  # exec(code, namespace): whatever the code stores
        return _EVERY if _namespace(fn, args, kwargs) is not None else None
    if fn is operator.setitem or fn is operator.delitem:
        return rebound_names(getattr(args[0], f"__{fn.__name__}__"), args[1:], kwargs) \
            if args and type(args[0]) is dict else None
    if type(fn) in (_DICT_METHOD, _DICT_SLOT) and fn.__objclass__ is dict:
        return rebound_names(getattr(args[0], fn.__name__), args[1:], kwargs) \
            if args and type(args[0]) is dict else None
    if type(fn) not in (types.BuiltinFunctionType, types.MethodWrapperType) \
            or type(fn.__self__) is not dict:
        return None
    name = fn.__name__
    if name in _SETS_KEY:
        return (args[0],) if args and type(args[0]) is str else None
    if name in _SETS_EVERY_KEY:
        return _EVERY
    if name == "update" or name == "__ior__":
        given = args[0] if args else {}
        if type(given) is dict:
            return (*given, *kwargs)
        return _EVERY  # pairs, another mapping: read only when the call runs
    return None


def settle_rebound(trace: Any, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a call that rebinds globals (see the module docstring): the op calls
    reading them end first."""
    names = rebound_names(fn, args, kwargs)
    if not names:
        return
    namespace = _namespace(fn, args, kwargs)
    if names is _EVERY:
        names = tuple(name for (where, name) in trace.ordering.holders.globals
                      if where == id(namespace))
    for name in names:
        if type(name) is str:
            settle_global(trace, namespace, name)


def _namespace(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The dict a call ``rebound_names`` knows changes (``None``: exec of no namespace)."""
    if fn is setattr or fn is delattr:
        return vars(args[0])
    if fn is exec:
        given = args[1] if len(args) > 1 else kwargs.get("globals")
        return given if type(given) is dict else None
    if fn is operator.setitem or fn is operator.delitem or type(fn) in (_DICT_METHOD,
                                                                        _DICT_SLOT):
        return args[0]
    return fn.__self__
