"""Whether code of the user's runs inside a call or an attribute read.

A lifted call (``trace.lift``) or a lifted attribute read runs later than plain Python
would, when the lazy values it needs exist. That is only safe when it runs no code of
the user's: a ``key=`` function, a property or a special method would read its
variables (a loop variable, a global, ``self``) as they are by then, and print later.
These checks decide when such a call or read must run now instead.
"""

from __future__ import annotations

import functools
import inspect
import operator
import threading
import types
from typing import Any

from ember.xcs.tracing.callees import Callee, classify
from ember.xcs.tree import ATOMS

__all__ = ["CACHE_WRAPPER", "calls_user_code", "has_user_special_methods", "hashes_in_user_code",
           "is_pandas_type", "runs_user_code"]

CACHE_WRAPPER = type(functools.lru_cache()(len))  # what functools.cache and lru_cache make


def calls_user_code(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a call is handed a function of the user's: a ``key=``, a ``repl``, a
    ``default=``, a bound method, a class with methods of the user's (``cls=``).

    Lifted, the call would run it later than plain Python does, reading its variables
    (a loop variable, a global, ``self``) as they are by then; such a call runs now.
    Functions marked ``@pure`` are not the user's in this sense.

    Example:
        >>> calls_user_code((lambda item: item,), {}), calls_user_code((len,), {})
        (True, False)
    """
    return any(_users(value) for value in ((*args, *kwargs.values()) if kwargs else args))


# Library callables that run code of the objects they are given or of a function they
# hide: attrgetter reads properties, methodcaller calls methods, cmp_to_key calls cmp.
_RUNS_GIVEN_CODE = frozenset({operator.attrgetter, operator.methodcaller,
                              type(functools.cmp_to_key(operator.sub))})


def _users(value: Any, depth: int = 4) -> bool:
    """Whether ``value`` is (or hides) a function of the user's."""
    kind = type(value)
    if kind is functools.partial:
        return depth > 0 and _users(value.func, depth - 1)
    if kind in _RUNS_GIVEN_CODE:
        return True
    if issubclass(kind, type):  # json.dumps(x, cls=Encoder): the library runs its methods
        return any(type(member) is types.FunctionType and classify(member) is Callee.USER
                   for klass in value.__mro__ for member in vars(klass).values())
    if kind is types.MethodType:
        value = value.__func__
        kind = type(value)
    if kind is types.FunctionType or kind is CACHE_WRAPPER:
        if kind is types.FunctionType and classify(value) is Callee.USER:
            return True
        # A library's wrapper of the user's function (functools.cache, singledispatch,
        # a retry decorator): what it wraps runs.
        wrapped = getattr(value, "__wrapped__", None)
        return wrapped is not None and depth > 0 and _users(wrapped, depth - 1)
    return False


def runs_user_code(cls: type, name: str) -> bool:
    """Whether reading attribute ``name`` of a ``cls`` instance gives or runs code of
    the user's: a method or a property of the user's own class.

    Lifted, reading it and calling the method would run that code later than plain
    Python does (its prints, the globals it reads); such a read waits for the value.
    Data attributes, and methods of built-in and library classes, are not.

    Example:
        >>> class Note:
        ...     def shout(self): return "!"
        >>> runs_user_code(Note, "shout"), runs_user_code(str, "upper")
        (True, False)
    """
    try:
        found = inspect.getattr_static(cls, name)
    except AttributeError:
        return False
    if isinstance(found, staticmethod | classmethod):
        found = found.__func__
    if isinstance(found, property):
        found = found.fget
    elif isinstance(found, functools.cached_property):
        found = found.func
    return type(found) is types.FunctionType and classify(found) is Callee.USER


def hashes_in_user_code(key: Any, depth: int = 3) -> bool:
    """Whether using ``key`` as a dict key runs code of the user's: a ``__hash__`` or
    ``__eq__`` of the user's class, of the key or of an item of a tuple or frozenset key.

    Each extra lookup of such a key would run that code again (its prints, the ops it
    calls), so XCS looks it up no more often than plain Python does.

    Example:
        >>> class Topic:
        ...     def __hash__(self): return 1
        >>> hashes_in_user_code(Topic()), hashes_in_user_code(("a", 1))
        (True, False)
    """
    kind = type(key)
    if kind in ATOMS:
        return False
    if kind is tuple or kind is frozenset:
        return depth > 0 and any(hashes_in_user_code(item, depth - 1) for item in key)
    return runs_user_code(kind, "__hash__") or runs_user_code(kind, "__eq__")


# Special methods that never run when an operation takes an existing object.
_NOT_OPERATIONS = frozenset({"__init__", "__new__", "__init_subclass__", "__post_init__",
                             "__set_name__", "__class_getitem__", "__del__", "__getattr__",
                             "__getattribute__", "__subclasshook__"})
# class -> (its _names_defined when looked at, has_user_special_methods); guarded by _lock
_special: dict[type, tuple[int, bool]] = {}
_lock = threading.Lock()
_CACHE_LIMIT = 8192


def has_user_special_methods(cls: type) -> bool:
    """Whether ``cls`` has special methods of the user's (``__str__``, ``__eq__``,
    ``__add__``, ``__format__``...), in itself or a base; cached per class, until a
    name is added to or deleted from it or a base (``Reply.__str__ = ...`` after the
    first call: a patch, a notebook cell).

    An operation on its instance (``str(r)``, ``r == x``, ``r + "!"``, ``sorted(rs)``)
    runs that code; lifted, it would run later than plain Python does (reading the
    globals the glue has changed since), so such an operation runs now.

    Example:
        >>> class Reply:
        ...     def __str__(self): return "reply"
        >>> has_user_special_methods(Reply), has_user_special_methods(str)
        (True, False)
    """
    names_defined = _names_defined(cls)
    entry = _special.get(cls)
    known = entry[1] if entry is not None and entry[0] == names_defined else None
    if known is None:
        try:
            names = [name for name in dir(cls) if name.startswith("__")
                     and name.endswith("__") and name not in _NOT_OPERATIONS]
            known = any(runs_user_code(cls, name) for name in names)
        except Exception:  # a class that refuses introspection: treat as the user's
            known = True
        with _lock:
            if len(_special) > _CACHE_LIMIT:
                _special.clear()
            _special[cls] = (names_defined, known)
    return known


def _names_defined(cls: type) -> int:
    """How many names the classes of ``cls``'s MRO define (a method added changes it)."""
    return sum(len(vars(klass)) for klass in cls.__mro__)


def is_pandas_type(cls: type) -> bool:
    """Whether ``cls`` takes part in pandas' operator dispatch (``__pandas_priority__``):
    a DataFrame, Series or Index, or a class that defers to or outranks them.

    Example:
        >>> is_pandas_type(list)
        False
    """
    return hasattr(cls, "__pandas_priority__")
