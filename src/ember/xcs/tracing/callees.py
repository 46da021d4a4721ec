"""What a call made by traced code should do with lazy arguments, by kind of callee.

Rewritten glue code sends every call through ``runtime.prep``, which asks ``classify``
what the callee is (cached per underlying function or type):

- ``OP``: an op, a jitted function, an Operator, anything of Ember's: it handles lazies.
- ``USER``: a Python function or method of user code (not the standard library or
  site-packages), or an instance of a user class with such a ``__call__``: called
  rewritten (its ``is``, ``type()``, f-strings... as in plain Python) with lazy arguments.
- ``USER_CLASS``: a user class with a Python ``__init__`` and no custom ``__new__`` or
  metaclass: built with ``object.__new__`` and the rewritten ``__init__``.
- ``PURE``: a known pure function (``str``, ``float``, ``json.loads``, ``re.sub``,
  ``str`` methods, pydantic model construction and ``Model.model_validate`` when the
  model runs no code of the user's (validators, a ``default_factory``...), functions
  marked ``@pure``): with lazy arguments it becomes a lifted node, computed when the
  inputs exist.
- ``CONSUMER``: like ``PURE``, and it consumes a generator argument completely
  (``"".join(gen)``, ``sorted(gen)``, ``sum(gen)``): the generator is run first, so the
  ops it issues start together.
- ``SHALLOW``: reads its arguments' identity, type or length, never the items inside
  (``len``, ``type``, ``isinstance``, ``id``, ``hasattr``, ``list``, ``dict``, ...): lazy
  arguments themselves are resolved, lazy values inside containers are not.
- ``TRANSPARENT``: stores or passes values on without looking at them (dataclasses,
  named tuples, methods of ``list``/``dict``/``set`` objects).
- ``UNKNOWN``: everything else (C functions, library code): every lazy value in the
  arguments, at any depth, is resolved first — exactly what the callee would need.
  User code that cannot be rewritten (no source: ``exec``, a REPL without history) is
  ``UNKNOWN`` too: unrewritten, it would see the proxies, so it gets real values and
  keeps its plain meaning (``rewrite.source_problem`` says why).

The cache key of a callable is what its kind depends on: the function's code, a class,
an instance's type (``Step`` builds one, ``Step()`` runs ``Step.__call__``), a C method's.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import threading
import types
import typing
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.tracing import operator_kinds, rewrite
from ember.xcs.tracing.codemap import CodeMap
from ember.xcs.tracing.frames import is_internal, is_user_code

__all__ = ["Callee", "classify", "compared_arguments", "mark_pure", "reads_items"]


class Callee(enum.Enum):
    """Kinds of callee (see the module docstring)."""

    OP = "op"
    USER = "user"
    USER_CLASS = "user class"
    PURE = "pure"
    CONSUMER = "consumer"
    SHALLOW = "shallow"
    TRANSPARENT = "transparent"
    UNKNOWN = "unknown"


# Qualified names ("module.qualname") of pure callables.
_PURE_NAMES = frozenset({
    "builtins.str", "builtins.repr", "builtins.ascii", "builtins.format", "builtins.int",
    "builtins.float", "builtins.complex", "builtins.bool", "builtins.bytes", "builtins.abs",
    "builtins.round", "builtins.divmod", "builtins.pow", "builtins.ord", "builtins.chr",
    "builtins.hex", "builtins.oct", "builtins.bin", "builtins.hash", "builtins.slice",
    "json.loads", "json.dumps", "re.match", "re.search", "re.fullmatch", "re.findall",
    "re.sub", "re.subn", "re.split", "re.escape", "re.compile", "textwrap.dedent",
    "textwrap.indent", "textwrap.shorten", "textwrap.wrap", "textwrap.fill",
    "posixpath.join", "posixpath.basename", "posixpath.dirname", "posixpath.split",
    "posixpath.splitext", "posixpath.normpath", "posixpath.isabs", "ntpath.join",
    "ntpath.basename", "ntpath.dirname", "ntpath.split", "ntpath.splitext",
    "html.escape", "html.unescape", "base64.b64encode", "base64.b64decode",
    "base64.urlsafe_b64encode", "base64.urlsafe_b64decode", "urllib.parse.quote",
    "urllib.parse.unquote", "urllib.parse.urlencode", "urllib.parse.urlparse",
    "urllib.parse.urljoin", "unicodedata.normalize", "copy.copy", "copy.deepcopy",
    "dataclasses.asdict", "dataclasses.astuple", "dataclasses.replace", "hashlib.new",
    "datetime.datetime.fromisoformat", "datetime.date.fromisoformat",
    "decimal.Decimal", "fractions.Fraction", "collections.Counter",
    "numpy.array", "numpy.asarray", "numpy.mean", "numpy.sum", "numpy.std", "numpy.var",
    "numpy.max", "numpy.min", "numpy.amax", "numpy.amin", "numpy.argmax", "numpy.argmin",
    "numpy.stack", "numpy.concatenate", "numpy.dot", "numpy.median", "numpy.average",
    "numpy.linalg.norm", "numpy.round", "numpy.clip", "numpy.where", "numpy.exp",
    "numpy.log", "numpy.sqrt", "numpy.abs", "numpy.argsort", "numpy.sort",
})
_PURE_MODULES = ("math.", "operator.", "cmath.", "_hashlib.openssl_", "_sha", "_md5",
                 "_blake2.", "jax.numpy.", "jax.nn.")
# Pure functions that consume an iterable argument completely.
_CONSUMER_NAMES = frozenset({
    "builtins.sorted", "builtins.sum", "builtins.min", "builtins.max", "math.fsum", "math.prod",
    "collections.Counter", "str.join", "bytes.join", "statistics.mean", "statistics.fmean",
    "statistics.median", "statistics.mode", "statistics.stdev", "statistics.pstdev",
    "statistics.variance", "statistics.pvariance", "statistics.harmonic_mean",
    "statistics.geometric_mean",
})
_SHALLOW_NAMES = frozenset({
    "builtins.len", "builtins.type", "builtins.isinstance", "builtins.issubclass",
    "builtins.id", "builtins.callable", "builtins.hasattr", "builtins.getattr",
    "builtins.vars", "builtins.iter", "builtins.next", "builtins.range",
    "builtins.enumerate", "builtins.zip", "builtins.reversed", "builtins.map",
    "builtins.filter", "builtins.any", "builtins.all", "builtins.list", "builtins.tuple",
    "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.setattr",
    "builtins.delattr", "builtins.object",
})
_C_METHOD = type(re.compile("").sub)  # a method of a C type keeping module state (re.Pattern)
_TRANSPARENT_SELF_TYPES: tuple[type, ...] = (list, dict, set)
_PURE_SELF_TYPES: tuple[type, ...] = (str, bytes)

_cache: dict[object, Callee] = {}
_cache_lock = threading.Lock()  # guards writes to the caches (dict reads are atomic)
_CACHE_LIMIT = 8192
_by_code: CodeMap[Callee] = CodeMap(_CACHE_LIMIT)  # Python functions, by their code


def mark_pure(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as pure: under ``@jit`` a call with lazy arguments becomes a lifted node.

    A pure function's result depends only on its arguments and it changes nothing: it
    may then run later than its call site, when its inputs exist, without the program
    noticing. Its exception is raised as plain Python would order it.

    Example:
        >>> from ember.xcs import pure
        >>> @pure
        ... def shout(text):
        ...     return text.upper() + "!"
        >>> shout("hi")
        'HI!'
    """
    with _cache_lock:  # it may have been classified before it was marked
        _cache.clear()
        _by_code.clear()
    try:
        fn.__xcs_pure__ = True  # type: ignore[attr-defined]  # a marker on any callable
    except (AttributeError, TypeError):
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        wrapper.__xcs_pure__ = True  # type: ignore[attr-defined]  # a marker
        return wrapper
    return fn


def _qualified(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "")
    return f"{module}.{name}"


def _by_name(qualified: str) -> Callee | None:
    if qualified in _CONSUMER_NAMES:
        return Callee.CONSUMER
    if qualified in _SHALLOW_NAMES:
        return Callee.SHALLOW
    if qualified in _PURE_NAMES or qualified.startswith(_PURE_MODULES):
        return Callee.PURE
    return None


def _function(fn: types.FunctionType) -> Callee:
    """What ``fn`` is by its code (cached per code object: ``@pure`` is not, see
    ``classify``)."""
    code = fn.__code__
    if is_user_code(code.co_filename):
        return Callee.USER if _rewritable(fn) else Callee.UNKNOWN
    if is_internal(code):
        return Callee.OP
    return _by_name(_qualified(fn)) or Callee.UNKNOWN


def _rewritable(fn: types.FunctionType) -> bool:
    """Whether user function ``fn`` runs in a rewritten form under a trace."""
    return rewrite.can_rewrite(fn.__code__)


def reads_items(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a shallow call reads its arguments' items all the same: a class made of
    them keeps them (``type(name, bases, namespace)``, ``Enum(name, members)``), and
    ``isinstance(x, (k, str))`` asks each class in its tuple (an op's result among them)."""
    if fn is type:
        return len(args) == 3
    if fn is isinstance or fn is issubclass:
        return len(args) == 2 and type(args[1]) is tuple
    return isinstance(fn, type) and issubclass(fn, enum.Enum) and (
        len(args) > 1 or "names" in kwargs)


def _class(cls: type) -> Callee:
    if getattr(cls, "__xcs_pure__", False):
        return Callee.PURE
    qualified = _qualified(cls)
    known = _by_name(qualified)
    if known is not None:
        return known
    if issubclass(cls, enum.Enum):
        return Callee.SHALLOW
    if _is_model(cls):  # built later, once its fields' values exist, unless that runs
        return Callee.UNKNOWN if _model_runs_code(cls, 3) else Callee.PURE  # user code
    module = getattr(cls, "__module__", "") or ""
    if module.startswith("ember."):
        return Callee.OP
    if dataclasses.is_dataclass(cls):
        return Callee.UNKNOWN if hasattr(cls, "__post_init__") else Callee.TRANSPARENT
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return Callee.TRANSPARENT
    init = cls.__dict__.get("__init__") if "__init__" in cls.__dict__ else None
    for base in cls.__mro__:
        if "__init__" in base.__dict__:
            init = base.__dict__["__init__"]
            break
    if (type(cls) is type and cls.__new__ is object.__new__
            and isinstance(init, types.FunctionType) and is_user_code(init.__code__.co_filename)
            and _rewritable(init)):
        return Callee.USER_CLASS
    return Callee.UNKNOWN


def _is_model(cls: type) -> bool:
    return any(base.__name__ == "BaseModel" and base.__module__.startswith("pydantic")
               for base in cls.__mro__)


_PLAIN_FACTORIES = (list, dict, set, tuple, frozenset, str, int, float, bool, bytes)
_RUN_AT_BUILD = ("validators", "field_validators", "root_validators", "model_validators")


def _model_runs_code(cls: type, depth: int) -> bool:
    """Whether building pydantic model ``cls`` runs code of the user's: validators, a
    ``default_factory``, its own ``__init__`` or ``model_post_init``, a nested model's."""
    decorators = getattr(cls, "__pydantic_decorators__", None)
    if any(getattr(decorators, name, None) for name in _RUN_AT_BUILD):
        return True
    for base in cls.__mro__:
        if (getattr(base, "__module__", "") or "").startswith("pydantic"):
            break
        if "__init__" in base.__dict__ or "model_post_init" in base.__dict__:
            return True
    for field in (getattr(cls, "__pydantic_fields__", None) or {}).values():
        factory = getattr(field, "default_factory", None)
        if factory is not None and factory not in _PLAIN_FACTORIES:
            return True
        if depth and _annotation_runs_code(getattr(field, "annotation", None), depth - 1):
            return True
    return False


def _annotation_runs_code(annotation: Any, depth: int) -> bool:
    if isinstance(annotation, type):
        if _is_model(annotation):
            return _model_runs_code(annotation, depth)
        return dataclasses.is_dataclass(annotation) and hasattr(annotation, "__post_init__")
    return any(_annotation_runs_code(arg, depth) for arg in typing.get_args(annotation))


def _key(fn: Any) -> object:
    """What the classification of ``fn`` depends on (bound methods are made per access).

    The shapes never meet: a callable itself, ``(class, name)`` for a C method bound to
    a class (``dict.fromkeys``), ``(type, name, None)`` for one bound to an instance
    (``"".join``), ``(type,)`` for an instance called through its type's ``__call__``.
    """
    kind = type(fn)
    if kind is types.MethodType:
        return fn.__func__
    if kind is types.BuiltinFunctionType or kind is _C_METHOD:
        owner = fn.__self__
        if owner is None or type(owner) is types.ModuleType:
            return fn
        if isinstance(owner, type):  # classified by the class's own name
            return (owner, fn.__name__)
        return (type(owner), fn.__name__, None)
    if isinstance(fn, type) or kind in (types.MethodDescriptorType, types.WrapperDescriptorType):
        return fn
    if getattr(fn, "__xcs_pure__", False):
        return fn
    return (kind,)


def _classify(fn: Any) -> Callee:
    kind = type(fn)
    if kind is types.FunctionType:
        return classify(fn)
    if kind is types.MethodType:
        return _classify(fn.__func__)
    if kind is types.BuiltinFunctionType or kind is _C_METHOD:  # bound methods of C types
        owner = fn.__self__
        if owner is None or type(owner) is types.ModuleType:
            return _by_name(_qualified(fn)) or Callee.UNKNOWN
        owner_type = type(owner)
        if owner_type in _PURE_SELF_TYPES:
            return Callee.CONSUMER if fn.__name__ == "join" else Callee.PURE
        if owner_type in _TRANSPARENT_SELF_TYPES:
            return Callee.TRANSPARENT
        if owner_type.__module__ == "re" or owner_type.__name__ == "Pattern":
            return Callee.PURE
        if isinstance(owner, type):  # a classmethod of a C type: dict.fromkeys, ...
            return _by_name(f"{owner.__module__}.{owner.__qualname__}.{fn.__name__}") \
                or Callee.UNKNOWN
        return Callee.UNKNOWN
    if kind is types.MethodDescriptorType or kind is types.WrapperDescriptorType:
        owner_type = fn.__objclass__
        if owner_type in _PURE_SELF_TYPES:
            return Callee.CONSUMER if fn.__name__ == "join" else Callee.PURE
        if owner_type in _TRANSPARENT_SELF_TYPES:
            return Callee.TRANSPARENT
        return Callee.UNKNOWN
    if isinstance(fn, type):
        return _class(fn)
    if getattr(fn, "__xcs_pure__", False):
        return Callee.PURE
    module = getattr(kind, "__module__", "") or ""
    if module.startswith("ember.") or getattr(fn, "__xcs_op__", False):
        return Callee.OP
    if module.startswith("numpy") and kind.__name__ == "ufunc":
        return Callee.PURE
    call = kind.__dict__.get("__call__") or next(
        (base.__dict__["__call__"] for base in kind.__mro__ if "__call__" in base.__dict__), None)
    if isinstance(call, types.FunctionType) and is_user_code(call.__code__.co_filename):
        return Callee.USER if _rewritable(call) else Callee.UNKNOWN
    if call is not None and getattr(call, "__module__", "") == "ember.operators.base":
        return _operator(kind)
    return Callee.UNKNOWN


def _operator(kind: type) -> Callee:
    """A user's ``Operator`` subclass: OP when its lazy arguments reach only code that
    handles them (``operator_kinds``); else it gets values."""
    return Callee.OP if operator_kinds.takes_lazy(kind) else Callee.UNKNOWN


def classify(fn: Any) -> Callee:
    """The kind of callee ``fn`` is (see the module docstring); cached."""
    target = fn.__func__ if type(fn) is types.MethodType else fn
    if target is not fn and target.__name__.startswith("model_validate") \
            and str(getattr(target, "__module__", "")).startswith("pydantic"):
        return _class(fn.__self__)  # pydantic's Model.model_validate(data): as Model(...)
    if type(target) is types.FunctionType:
        if target.__dict__ and getattr(target, "__xcs_pure__", False):
            return Callee.PURE  # this function, not every closure sharing its code
        code = target.__code__
        known = _by_code.get(code)
        if known is None:
            known = _function(target)
            with _cache_lock:
                _by_code[code] = known
        return known
    try:
        key = _key(fn)
        cached = _cache.get(key)
    except Exception:  # an unhashable or exotic callable: classify it afresh
        key, cached = None, None
    if cached is not None:
        return cached
    try:
        result = _classify(fn)
    except Exception:  # a callable that refuses introspection: resolve everything
        return Callee.UNKNOWN
    if key is not None:
        with _cache_lock:
            if len(_cache) > _CACHE_LIMIT:
                _cache.clear()
            _cache[key] = result
    return result


# From which argument on a method of a list, dict or set only stores its arguments; it
# hashes or compares the ones before (all of them, for a method not named here).
_STORED_FROM = {"append": 0, "insert": 1, "setdefault": 1, "get": 1, "pop": 1}
_SCANS = frozenset({"index", "count", "remove", "__contains__"})  # compare with the items


def compared_arguments(method: Any, args: tuple[Any, ...], leaf: type) -> list[Any]:
    """The ``leaf`` values a method of a list, dict or set hashes or compares at once:
    arguments (``seen.add(r)``, inside a list for ``seen.update([a, b])``), and the
    list's own items for a search (``answers.count("yes")``).

    Example:
        >>> compared_arguments(["x", 1].count, ("x",), str)
        ['x', 'x']
    """
    name, owner = method.__name__, method.__self__
    if type(owner) is not list and name not in _STORED_FROM:
        return tree.leaves(args, leaf)
    found = [a for a in args[:_STORED_FROM.get(name, len(args))] if type(a) is leaf]
    if name in _SCANS:
        found += [item for item in owner if type(item) is leaf]
    return found
