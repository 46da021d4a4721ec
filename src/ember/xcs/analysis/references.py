"""What a callable's code can reach: the static half of ``analyze_operations_v2``.

A function's code object lists the names it uses: globals and attributes
(``co_names``) and closure variables (``co_freevars``), also in nested code
(comprehensions, lambdas, inner functions). Resolving those names against the
function's globals, its closure, the builtins and, for a method, the object's fields
and class tells which ops, model calls, array libraries, provider SDKs and
side-effecting calls it can reach. The program's own helper functions are followed a few
levels deep (Ember's, the standard library's and installed packages' are known by
name instead); wrappers (``functools.wraps``, ``@jit``) are seen through. A library
that is mostly pure (``os``, ``pathlib``, ``urllib``) counts as a side effect only
together with a name that writes (``os.remove``, ``Path.write_text``, ``urlopen``).

What is reached only through an argument, a computed attribute or a container built
at run time cannot be seen: the result is evidence, never proof. Nothing is cached,
because globals may change between two calls of the analysis.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from ember.xcs.ops import Op

__all__ = ["Reach", "as_op", "forward_of", "reach", "unwrap"]

_JAX_LIBRARIES = ("jax", "jaxlib", "flax", "equinox", "optax", "haiku", "chex")
_NUMERIC_LIBRARIES = ("numpy", "torch", "tensorflow", "scipy", "sklearn", "pandas", "cupy")
_SDK_LIBRARIES = (
    "openai", "anthropic", "langchain", "langchain_core", "litellm", "cohere", "mistralai",
    "google.generativeai", "google.genai", "replicate", "huggingface_hub",
)
# Libraries whose every use is a side effect: processes, sockets, HTTP, databases, mail,
# files moved or deleted, log records.
_EFFECT_MODULES = (
    "subprocess", "socket", "requests", "httpx", "aiohttp", "sqlite3", "smtplib", "ftplib",
    "shutil", "logging",
)
# Libraries that are mostly pure (os.path.join, urllib.parse.quote): using one is a side
# effect only together with one of these names.
_EFFECT_CALLS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("os", "posix", "nt"), frozenset({
        "chmod", "chown", "fork", "kill", "link", "makedirs", "mkdir", "popen", "putenv",
        "remove", "removedirs", "rename", "renames", "replace", "rmdir", "symlink", "system",
        "truncate", "unlink", "unsetenv", "utime", "write"})),
    (("pathlib",), frozenset({
        "chmod", "hardlink_to", "mkdir", "rename", "replace", "rmdir", "symlink_to", "touch",
        "unlink", "write_bytes", "write_text"})),
    (("urllib",), frozenset({"urlopen", "urlretrieve"})),
    (("http",), frozenset({"HTTPConnection", "HTTPSConnection"})),
)
_EFFECT_BUILTINS = frozenset({"print", "open", "input", "exec", "eval", "breakpoint"})
_MODEL_LAYER = "ember.models"
_MAX_DEPTH = 4  # helper functions followed this many calls deep
_MAX_FUNCTIONS = 200  # code objects visited per analysis: keeps it cheap on huge programs


@dataclass
class Reach:
    """Evidence of what a callable can reach, one readable line per finding.

    Attributes:
        ops: ops of kind ``orchestration`` and model calls (each call is an engine node).
        tensor_ops: ops of kind ``tensor`` (engine nodes too: JAX never traces an op).
        effect_ops: ops marked ``effect=True`` among both (run eagerly, in order).
        jax: JAX-family libraries and array data (what ``jax.jit`` can trace).
        numeric: array libraries whose functions reject JAX tracers (NumPy, torch, ...).
        sdk: provider SDKs used directly, not through an op (they run in the caller).
        effects: calls with side effects (``print``, ``open``, ``os``, HTTP clients...).
        inspected: whether any Python code was found to inspect.
        op_names: the names of the ops of both kinds, in the order found (``models``
            for the model-call facade).
    """

    ops: set[str] = field(default_factory=set)
    tensor_ops: set[str] = field(default_factory=set)
    effect_ops: set[str] = field(default_factory=set)
    jax: set[str] = field(default_factory=set)
    numeric: set[str] = field(default_factory=set)
    sdk: set[str] = field(default_factory=set)
    effects: set[str] = field(default_factory=set)
    inspected: bool = False
    op_names: list[str] = field(default_factory=list)

    @property
    def engine_ops(self) -> bool:
        """Whether any op (of either kind) or model call is reached."""
        return bool(self.ops or self.tensor_ops)

    @property
    def found(self) -> bool:
        """Whether anything at all was found."""
        return bool(self.ops or self.tensor_ops or self.jax or self.numeric or self.sdk
                    or self.effects)


def as_op(value: Any) -> Op | None:
    """The ``Op`` that ``value`` runs as: itself, or a leaf Operator's op; else ``None``."""
    if isinstance(value, Op):
        return value
    kind = type(value)
    if getattr(kind, "leaf", False) is True and callable(getattr(kind, "as_op", None)):
        found = value.as_op()
        return found if isinstance(found, Op) else None
    return None


def forward_of(value: Any) -> types.FunctionType | None:
    """The ``forward`` function of an Operator-like object or class, else ``None``."""
    owner = value if isinstance(value, type) else type(value)
    forward = getattr(owner, "forward", None)
    return forward if isinstance(forward, types.FunctionType) else None


def unwrap(value: Any) -> tuple[Any, Any]:
    """``(callable, instance)``: ``value`` without partials, methods and wrappers.

    ``instance`` is the object a bound method belongs to (its fields resolve
    ``self.name``), else ``None``. Wrappers are followed through ``__wrapped__`` as
    kept in their own ``__dict__`` (``functools.wraps``, ``@jit``), never through
    ``__getattr__``, so proxies and mocks are not asked for anything.
    """
    instance = None
    for _ in range(32):  # wrapper chains are short; a cycle must not loop forever
        if isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, types.MethodType):
            instance, value = value.__self__, value.__func__
        elif isinstance(value, staticmethod | classmethod):
            value = value.__func__
        elif isinstance(value, Op) or not hasattr(value, "__dict__"):
            break
        elif (wrapped := vars(value).get("__wrapped__")) is not None and wrapped is not value:
            value = wrapped
        else:
            break
    return value, instance


def reach(target: Any, instance: Any = None) -> Reach:
    """What ``target`` (a function, or ``forward`` with ``instance``) can reach.

    Args:
        target: the callable whose code is read.
        instance: the object ``self`` is bound to, for fields and methods.
    """
    found = Reach()
    _Walker(found).function(target, instance, "", 0)
    return found


class _Walker:
    """One analysis: the evidence so far and the code objects already read."""

    def __init__(self, found: Reach) -> None:
        self.found = found
        self.seen: set[tuple[int, int]] = set()

    def function(self, fn: Any, instance: Any, path: str, depth: int) -> None:
        code = getattr(fn, "__code__", None) if isinstance(fn, types.FunctionType) else None
        if code is None or depth > _MAX_DEPTH:
            return
        key = (id(code), id(instance))
        if key in self.seen or len(self.seen) >= _MAX_FUNCTIONS:
            return
        self.seen.add(key)
        self.found.inspected = True
        used = frozenset(_names(code))
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: the variable is not bound yet
                continue
            self.value(value, f"{path}{name}", depth, used)
        scope = fn.__globals__
        own = vars(instance) if instance is not None and hasattr(instance, "__dict__") else {}
        for name in sorted(used):
            if instance is not None and name in own:
                self.value(own[name], f"{path}self.{name}", depth, used)
            elif instance is not None and isinstance(
                    method := getattr(type(instance), name, None), types.FunctionType):
                self.function(method, instance, f"{path}self.{name} → ", depth + 1)
            elif name in scope:
                self.value(scope[name], f"{path}{name}", depth, used)
            elif name in _EFFECT_BUILTINS and hasattr(builtins, name):
                self.found.effects.add(f"{path}{name}: builtin with side effects")

    def value(self, value: Any, label: str, depth: int, used: frozenset[str]) -> None:
        """Classify one resolved name (containers: their items, one level).

        ``used`` holds the names the code using it mentions (``os`` with ``remove``).
        """
        if isinstance(value, list | tuple | set | frozenset):
            for item in list(value)[:64]:
                self.value_item(item, label, depth, used)
            return
        if isinstance(value, dict):
            for item in list(value.values())[:64]:
                self.value_item(item, label, depth, used)
            return
        self.value_item(value, label, depth, used)

    def value_item(self, value: Any, label: str, depth: int, used: frozenset[str]) -> None:
        found = self.found
        op = as_op(value)
        if op is not None:
            self.op(op, label)
            return
        if isinstance(value, types.ModuleType):
            self.library(value.__name__, label, used, is_module=True)
            return
        if _is_array(value):
            module = type(value).__module__
            target = found.jax if module.startswith(("jax", "numpy")) else found.numeric
            target.add(f"{label}: {type(value).__name__} array")
            return
        if isinstance(value, str | bytes | int | float | complex | bool | type(None)):
            return
        module = _module_of(value)
        if module.startswith(_MODEL_LAYER) and callable(value) and not isinstance(
                value, types.FunctionType | type):
            found.ops.add(f"{label}: model calls (each call is an op)")
            found.op_names.append("models")
            return
        if depth >= _MAX_DEPTH:
            return
        inner, bound = unwrap(value)
        if inner is not value and inner is not None:
            self.value_item(inner, label, depth, used)
            if bound is not None and isinstance(inner, types.FunctionType):
                self.function(inner, bound, f"{label} → ", depth + 1)
            return
        used = used | {getattr(value, "__name__", "")}  # from os import remove: "remove"
        if self.library(module, label, used, is_module=False) or isinstance(value, type):
            return
        if isinstance(value, types.FunctionType):
            if _is_program(value.__code__, module):
                self.function(value, None, f"{label} → ", depth + 1)
            return
        # An object: an Operator runs its forward (Ember's blocks too: their fields hold
        # the user's operators), any other callable object its own __call__.
        forward = forward_of(value)
        if forward is not None:
            self.function(forward, value, f"{label} → ", depth + 1)
            return
        call = inspect.getattr_static(type(value), "__call__", None)
        if isinstance(call, types.FunctionType) and _is_program(call.__code__, call.__module__):
            self.function(call, value, f"{label} → ", depth + 1)

    def op(self, op: Op, label: str) -> None:
        found = self.found
        kind = "tensor op" if op.kind == "tensor" else "op"
        text = f"{label}: {kind} {op.name!r}"
        (found.tensor_ops if op.kind == "tensor" else found.ops).add(text)
        found.op_names.append(op.name)
        if op.effect:
            found.effect_ops.add(f"{label}: op {op.name!r} (effect=True)")

    def library(self, module: str, label: str, used: frozenset[str], *,
                is_module: bool) -> bool:
        """Record ``label`` if ``module`` is a known library; whether it was one."""
        found = self.found
        what = "module" if is_module else "from"
        for prefixes, target, note in (
            (_JAX_LIBRARIES, found.jax, ""),
            (_NUMERIC_LIBRARIES, found.numeric, ""),
            (_SDK_LIBRARIES, found.sdk, " (called directly, not as an op)"),
            (_EFFECT_MODULES, found.effects, " (side effects)"),
        ):
            if _in_library(module, prefixes):
                target.add(f"{label}: {what} {module}{note}")
                return True
        for family, calls in _EFFECT_CALLS:
            if _in_library(module, family):
                if writes := sorted(used & calls):
                    found.effects.add(f"{label}: {what} {module} ({', '.join(writes)})")
                return True
        return False


def _names(code: types.CodeType) -> set[str]:
    """Names (globals and attributes) used by ``code`` and the code nested in it.

    Nested code is comprehensions (their own code objects before 3.12), lambdas and
    inner functions; their closure variables are ``code``'s own locals or its own free
    variables, which ``reach`` resolves from the function's closure.
    """
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return names


def _is_program(code: types.CodeType, module: str) -> bool:
    """Whether a function is the user's program (followed), not Ember's or a library's.

    Ember's own code, the standard library and installed packages are not followed:
    what they do is known by the names above, or is not the program's business.
    """
    if module.startswith("ember.") or module.split(".")[0] in sys.stdlib_module_names:
        return False
    filename = code.co_filename
    return "site-packages" not in filename and "dist-packages" not in filename


def _module_of(value: Any) -> str:
    module = getattr(value, "__module__", None) if isinstance(
        value, types.FunctionType | types.BuiltinFunctionType | type) else None
    return str(module or type(value).__module__ or "")


def _in_library(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _is_array(value: Any) -> bool:
    kind = type(value)
    return hasattr(kind, "shape") and hasattr(kind, "dtype") and _in_library(
        kind.__module__, _JAX_LIBRARIES + _NUMERIC_LIBRARIES)
