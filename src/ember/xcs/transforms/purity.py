"""Whether ``jax.jit`` of a function gives what plain Python gives: its code's effects.

``jax.jit`` runs a function's Python body only while JAX traces it (once per argument
shape) and replays the compiled computation on later calls. Whatever the body does
besides computing its result would then happen once instead of on every call:
printing or logging, drawing random numbers with NumPy or ``random``, reading the
clock, rebinding a global or an enclosing function's variable, changing an object from
outside the call (a closure's dict, a global list, a list the caller passed). So
``jit``'s tensor mode (``transforms.tensor``) asks ``purity(fn)`` first.

``purity`` reads ``fn``'s code once (``tracing.effects``: bytecode, cached per code
object) and resolves what it reads from outside: globals, closure variables, modules
imported in the body, and, a few calls deep, the program's own functions and methods
it reads in turn. Libraries are known by name: JAX and its family, NumPy (but not
``numpy.random``), ``math``, ``operator``, ``functools`` and the like are free of such
effects; ``random``, ``time``, ``logging``, ``os``, ``sys``, HTTP clients and the like are
not; any other library cannot be checked, so it counts as an effect: when unsure, the
function runs as plain Python, which is always right.

The answer, a ``Purity``:

- ``fallback``: the first effect found and its line; the function runs as plain Python;
- ``changes``: whether its code changes some object in place that it did not build
  itself (``x += 1`` on a parameter, ``params["w"] = w``). That keeps its meaning under
  ``jax.jit`` only when no object from outside can be changed: no value it reads from
  outside is mutable (else ``fallback`` says so), and no argument is a mutable
  container, which ``TensorDispatch`` checks per call.

Example:
    >>> history = []
    >>> def remember(x):
    ...     history.append(x)
    ...     return x * 2
    >>> print(purity(remember).fallback.reason)  # doctest: +ELLIPSIS
    it changes an object in place (calls history.append()) and reads history (a list) ...
    >>> purity(lambda x: x * 2)
    Purity(fallback=None, changes=False)
"""

from __future__ import annotations

import builtins
import functools
import inspect
import sys
import types
from dataclasses import dataclass
from typing import Any

from ember.xcs.analysis.references import as_op, forward_of, unwrap
from ember.xcs.api.records import Fallback
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.effects import Change, code_effects

__all__ = ["Purity", "purity"]

# Libraries whose use is an effect under jax.jit (first: numpy.random is inside numpy).
_EFFECT_LIBRARIES = (
    "numpy.random", "random", "time", "datetime", "uuid", "secrets", "os", "sys", "io",
    "logging", "warnings", "subprocess", "socket", "threading", "multiprocessing", "queue",
    "asyncio", "concurrent", "shutil", "tempfile", "pathlib", "sqlite3", "requests", "httpx",
    "urllib", "http", "smtplib", "pickle", "shelve", "tqdm", "wandb", "mlflow", "tensorboard",
    "tensorboardX", "torch.utils.tensorboard",
)
# Libraries free of such effects (JAX's own effects, jax.debug.print, run on every call).
_PURE_LIBRARIES = (
    "jax", "jaxlib", "flax", "optax", "equinox", "haiku", "chex", "einops", "opt_einsum",
    "ml_dtypes", "numpy", "math", "cmath", "operator", "functools", "itertools", "typing",
    "types", "dataclasses", "enum", "abc", "numbers", "collections", "copy", "builtins",
    "ember",
)
_EFFECT_BUILTINS = frozenset({"print", "input", "open", "breakpoint", "exit", "quit", "help",
                              "exec", "eval", "globals", "locals", "vars", "__import__"})
_CHANGING_BUILTINS = frozenset({"setattr", "delattr", "next"})
_IMMUTABLE_TYPES = (type(None), bool, int, float, complex, str, bytes, range, slice,
                    type(Ellipsis), type(NotImplemented))
_MAX_DEPTH = 6  # the program's functions followed this many calls deep
_MAX_FUNCTIONS = 200
_MISSING: Any = object()
# What ``getattr_static`` finds on a class for a method written in C (``dict.get``).
_SLOT_TYPES = (types.MethodDescriptorType, types.WrapperDescriptorType,
               types.BuiltinFunctionType, types.MethodWrapperType)


@dataclass(frozen=True)
class Purity:
    """What ``jax.jit`` would change about a function (see the module docstring).

    Attributes:
        fallback: why it must run as plain Python (with the line), or ``None``.
        changes: whether its code changes objects in place that it did not build.
    """

    fallback: Fallback | None
    changes: bool


def purity(fn: Any) -> Purity:
    """Whether ``jax.jit(fn)`` keeps plain Python's meaning, as far as its code shows."""
    target, instance = unwrap(fn)
    walk = _Walk()
    if isinstance(target, types.FunctionType):  # read, wherever it is defined
        walk.function(target, instance, 0)
    else:
        walk.value(target, (), getattr(target, "__name__", "the function"), None, 0)
    if walk.problem is None and walk.change is not None and walk.outside is not None:
        what, location = walk.change
        walk.problem = Fallback(
            f"it changes an object in place ({what}) and reads {walk.outside} from outside "
            "the call: jax.jit would make that change only while tracing, not on every call",
            location)
    return Purity(walk.problem, walk.change is not None)


class _Unimported(str):
    """The dotted name of a module imported in a function body and not imported yet."""


class _Walk:
    """One check: the first effect, change and mutable outside value found so far."""

    def __init__(self) -> None:
        self.problem: Fallback | None = None
        self.change: tuple[str, SourceLocation] | None = None
        self.outside: str | None = None  # a mutable value read from outside, described
        self.seen: set[tuple[int, int]] = set()

    def effect(self, what: str, location: SourceLocation | None) -> None:
        if self.problem is None:
            self.problem = Fallback(what, location)

    def function(self, fn: types.FunctionType, instance: Any, depth: int,
                 builds_self: bool = False) -> None:
        """Read ``fn``'s code and resolve what it reads (``instance``: its ``self``)."""
        code = fn.__code__
        key = (id(code), id(instance))
        if key in self.seen or self.problem is not None:
            return
        here = SourceLocation(code.co_filename, code.co_firstlineno, code.co_name)
        if depth > _MAX_DEPTH or len(self.seen) >= _MAX_FUNCTIONS:
            self.effect(f"it calls functions more deeply than XCS checks (up to {code.co_name})",
                        here)
            return
        self.seen.add(key)
        effects = code_effects(code)
        for kind, name, line in effects.rebinds:
            self.effect(f"it assigns {kind} variable {name}, which jax.jit would do only "
                        "while tracing, not on every call", _at(code, line))
            return
        first = code.co_varnames[0] if code.co_argcount else ""
        cells = dict(zip(code.co_freevars, fn.__closure__ or (), strict=False))
        for change in effects.changes:
            if self.change is None and not (builds_self and change.receiver == first) \
                    and _changes_object(fn, cells, change):
                self.change = (change.what, _at(code, change.line))
        for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
            self.value(default, (), f"a default of {code.co_name}", here, depth)
        for names, scope, line in effects.reads:
            value = _resolve(fn, cells, instance, names, scope)
            rest = names[1:] if scope != "import" else ()
            self.value(value, rest, ".".join(names), _at(code, line), depth)

    def value(self, value: Any, rest: tuple[str, ...], label: str,
              location: SourceLocation | None, depth: int) -> None:
        """Classify what a name read from outside holds (``rest``: attributes read of it)."""
        if self.problem is not None or value is _MISSING:
            return
        if isinstance(value, _Unimported):
            self.library(value, label, location)
            return
        while isinstance(value, types.ModuleType):
            if self.library(value.__name__, label, location) == "effect" or not rest:
                return
            value, rest = getattr(value, rest[0], _MISSING), rest[1:]
            if value is _MISSING:
                return  # an AttributeError, in plain Python too
        if isinstance(value, tuple | list | dict | set | frozenset):  # functions held there
            for item in list(value.values() if isinstance(value, dict) else value)[:64]:
                if callable(item):
                    self.value(item, (), label, location, depth)
        if as_op(value) is not None or _immutable(value):
            return  # ops: jax.jit never runs them (transforms.probes)
        inner, bound = unwrap(value)
        if isinstance(value, functools.partial):
            for argument in (*value.args, *value.keywords.values()):
                self.value(argument, (), label, location, depth)
        if bound is not None:
            self.value(bound, (), label, location, depth)
        if inner is not value:
            if isinstance(inner, types.FunctionType) and self.library(
                    _module_of(inner), label, location) is None:
                self.function(inner, bound, depth + 1)
            else:
                self.value(inner, rest, label, location, depth)
        elif isinstance(value, types.FunctionType):
            if self.library(_module_of(value), label, location) is None:
                self.function(value, None, depth + 1)
        elif isinstance(value, types.BuiltinFunctionType | types.BuiltinMethodType):
            self.builtin(value, label, location)
        elif isinstance(value, type):
            self.constructor(value, rest, label, location, depth)
        else:
            self.instance(value, rest, label, location, depth)

    def builtin(self, value: Any, label: str, location: SourceLocation | None) -> None:
        """A function written in C: a builtin, or a library's (``time.time``)."""
        owner = getattr(value, "__self__", None)
        if owner is builtins:
            if value.__name__ in _EFFECT_BUILTINS:
                self.effect(f"it calls {value.__name__}, which jax.jit would run only while "
                            "tracing, not on every call", location)
            elif value.__name__ in _CHANGING_BUILTINS and self.change is None and location:
                self.change = (f"calls {value.__name__}()", location)
            return
        module = value.__module__ or type(owner).__module__  # random.random: a Random's
        if self.library(module, label, location) is None:
            self.effect(f"it calls {label} ({module}), compiled code XCS cannot check for "
                        "effects that jax.jit would run only while tracing", location)

    def constructor(self, cls: type, rest: tuple[str, ...], label: str,
                    location: SourceLocation | None, depth: int) -> None:
        """A class: what building one runs, or the class attribute read of it."""
        if self.library(cls.__module__, label, location) is not None:
            return
        if rest:  # a classmethod, staticmethod or constant
            self.value(getattr(cls, rest[0], _MISSING), rest[1:], label, location, depth)
            return
        for name in ("__new__", "__init__", "__post_init__"):
            method = inspect.getattr_static(cls, name, None)
            if isinstance(method, types.FunctionType) and self.library(
                    _module_of(method), label, location) is None:
                self.function(method, None, depth + 1, builds_self=name != "__new__")

    def instance(self, value: Any, rest: tuple[str, ...], label: str,
                 location: SourceLocation | None, depth: int) -> None:
        """An object read from outside: mutable (unless immutable data), and what calling
        it or the member read of it runs."""
        kind = type(value)
        if _known(kind.__module__) == "effect":  # a logger, a file, a random generator
            self.library(kind.__module__, label, location)
            return
        if self.outside is None:
            self.outside = f"{label.partition('.')[0]} (a {kind.__name__})"
        if _known(kind.__module__) == "pure":
            return
        member: Any = forward_of(value) or inspect.getattr_static(kind, "__call__", None)
        if rest:
            member = inspect.getattr_static(kind, rest[0], _MISSING)
            if member is _MISSING:  # an attribute of the object itself
                field = getattr(value, "__dict__", {}).get(rest[0], _MISSING)
                self.value(field, rest[1:], label, location, depth)
                return
        if isinstance(member, property):
            member = member.fget
        if isinstance(member, staticmethod | classmethod):
            member = member.__func__
        if isinstance(member, types.FunctionType):
            if self.library(_module_of(member), label, location) is None:
                self.function(member, value, depth + 1)  # a method of the program's
        elif as_op(member) is not None:  # an @op method: a model or tool call
            self.effect(f"it calls the op {label}, which jax.jit would run only while "
                        "tracing, not on every call", location)
        elif member is not None and not isinstance(member, _SLOT_TYPES):
            self.effect(f"it uses {label} ({kind.__module__}.{kind.__name__}), compiled code "
                        "XCS cannot check for effects that jax.jit would run only while "
                        "tracing", location)

    def library(self, module: str, label: str, location: SourceLocation | None) -> str | None:
        """``"pure"``, ``"effect"`` (recorded) or ``None`` for a module not known here."""
        known = _known(module)
        if known == "effect":
            self.effect(f"it uses {label} ({module}), whose effects jax.jit would run only "
                        "while tracing, not on every call", location)
        return known


def _resolve(fn: types.FunctionType, cells: dict[str, Any], instance: Any,
             names: tuple[str, ...], scope: str) -> Any:
    """The value a chain read from outside starts from (``_MISSING``: unknown)."""
    if scope == "global":
        found = fn.__globals__.get(names[0], _MISSING)
        return getattr(builtins, names[0], _MISSING) if found is _MISSING else found
    if scope == "closure":
        try:
            return cells[names[0]].cell_contents
        except (KeyError, ValueError):  # an unbound cell: a NameError in plain Python too
            return _MISSING
    if scope == "self":
        return instance if instance is not None else _MISSING
    module = ".".join(names)  # an import in the body: the module, or a name from it
    while module not in sys.modules and "." in module:
        module = module.rpartition(".")[0]
    found = sys.modules.get(module)
    if found is None:
        return _Unimported(".".join(names))
    for name in names[len(module.split(".")):]:
        found = getattr(found, name, _MISSING)
    return found


def _changes_object(fn: types.FunctionType, cells: dict[str, Any], change: Change) -> bool:
    """Whether ``change`` may change an object in place.

    A method named like one that changes its object (``opt.update(...)``) called on a
    global or closure variable changes it only when the object's class has that method
    in C, as ``list``, ``dict``, ``set`` and NumPy arrays do; a method in Python is read
    like any function (``_Walk.instance``), and a function held in a field (an optax
    ``GradientTransformation``'s ``update``) changes nothing by its name.
    """
    code = fn.__code__
    if not change.method or change.receiver in code.co_varnames or \
            change.receiver in code.co_cellvars or not change.receiver:
        return True
    scope = "closure" if change.receiver in code.co_freevars else "global"
    value = _resolve(fn, cells, None, (change.receiver,), scope)
    if value is _MISSING:
        return True
    return isinstance(inspect.getattr_static(type(value), change.method, None), _SLOT_TYPES)


def _at(code: types.CodeType, line: int) -> SourceLocation:
    return SourceLocation(code.co_filename, line, code.co_name)


def _known(module: str) -> str | None:
    """``"effect"`` or ``"pure"`` for a library known here, else ``None``."""
    if _in(module, _EFFECT_LIBRARIES):
        return "effect"
    return "pure" if _in(module, _PURE_LIBRARIES) else None


def _module_of(value: Any) -> str:
    return str(getattr(value, "__module__", None) or "")


def _in(module: str, libraries: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in libraries)


def _immutable(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is data nothing can change: numbers, strings, JAX arrays,
    NumPy scalars and dtypes, tuples of these."""
    if isinstance(value, _IMMUTABLE_TYPES):
        return True
    kind = type(value)
    if isinstance(value, type | types.FunctionType | types.ModuleType):
        return False
    if kind.__module__.startswith(("jax", "jaxlib")) and hasattr(value, "dtype"):
        return True  # a JAX array (or tracer)
    if kind.__module__ == "numpy" and kind.__name__ != "ndarray" and hasattr(value, "dtype"):
        return True  # a NumPy scalar or dtype
    if isinstance(value, tuple | frozenset) and depth < 8 and len(value) <= 256:
        return all(_immutable(item, depth + 1) or callable(item) for item in value)
    return False
