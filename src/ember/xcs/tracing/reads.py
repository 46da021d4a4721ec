"""What an op's own code reads besides its arguments: globals, and attributes of modules.

``global_reads(fn)`` reads ``fn``'s code once with ``dis`` (nested code included) and
names what it loads from its module: the data globals (``MODEL``, ``CONFIG``), and the
attributes it reads of the modules it names (``os.environ``, ``settings.MODE``: a
global that is a module, then an attribute). ``tracing.holding`` holds those values
for the op call and orders the glue's rebinding of them after it.

Modules, functions and classes (``os.getcwd``) are left out when the code is first
read: they stay what they are, and are then never looked up again. ``os.getenv`` is
kept, for the ``os.environ`` it reads.

Example:
    >>> import os
    >>> def read_env():
    ...     return os.environ["HOME"], os.getcwd()
    >>> global_reads(read_env)[1]
    (('os', 'environ'),)
"""

from __future__ import annotations

import dis
import os
import sys
import types
from typing import Any

from ember.xcs.tracing.codemap import CodeMap

__all__ = ["MISSING", "Read", "code_like", "code_owner", "global_reads", "read_through",
           "shared_generator"]

MISSING: Any = object()
# A global's name, or (a global naming a module, the attribute of it read).
Read = str | tuple[str, str]

_CODE_KINDS = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
               types.MethodType, types.BuiltinMethodType)
_BOUND = (types.MethodType, types.BuiltinMethodType)
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_reads: CodeMap[tuple[Read, ...]] = CodeMap(limit=4096)


def global_reads(fn: Any) -> tuple[dict[str, Any], tuple[Read, ...]] | None:
    """The globals of ``fn`` and what its code (nested code included) reads of them,
    or ``None`` when it reads no data that way or has no Python code (a builtin, a
    callable object)."""
    target = code_owner(fn)
    code = getattr(target, "__code__", None)
    namespace = getattr(target, "__globals__", None)
    if type(code) is not types.CodeType or type(namespace) is not dict:
        return None
    reads = _reads.get(code)
    if reads is None:
        reads = _reads[code] = _data_reads(code, namespace)
    return (namespace, reads) if reads else None


def code_owner(fn: Any) -> Any:
    """The function whose code ``fn`` runs: ``fn`` through bound methods and
    ``functools.wraps`` wrappers (a leaf Operator's op: its ``forward``)."""
    target = fn
    for _ in range(8):  # wrapper chains are short; a cycle must not loop forever
        inner = getattr(target, "__func__", None) or getattr(target, "__wrapped__", None)
        if inner is None:
            break
        target = inner
    return target


def _data_reads(code: types.CodeType, namespace: dict[str, Any]) -> tuple[Read, ...]:
    found: dict[Read, None] = {}
    todo = [code]
    while todo:
        current = todo.pop()
        loaded = None  # the global the previous instruction loaded
        for instruction in dis.get_instructions(current):
            name = instruction.argval
            if instruction.opname in _GLOBAL_LOADS:
                found[name] = None
                loaded = name
                continue
            if loaded is not None and instruction.opname in _ATTRIBUTE_LOADS \
                    and type(namespace.get(loaded)) is types.ModuleType:
                found[(loaded, name)] = None
            loaded = None
        todo += [c for c in current.co_consts if type(c) is types.CodeType]
    return tuple(read for read in found if not _code_or_missing(
        getattr(namespace[read[0]], read[1], MISSING) if isinstance(read, tuple)
        else namespace.get(read, MISSING)))


def _code_or_missing(value: Any) -> bool:
    return code_like(value) and read_through(value) is None


def read_through(value: Any) -> tuple[dict[str, Any], str] | None:
    """The module data a library function reads, as (the module's globals, the name):
    ``os.getenv`` reads ``os.environ``; the ``random`` module and its functions
    (``random.choice``, ``from random import shuffle``) the generator they share
    (``random._inst``); ``None`` for anything else."""
    if value is os.getenv:
        return (os.__dict__, "environ")
    return shared_generator(value)


def shared_generator(value: Any) -> tuple[dict[str, Any], str] | None:
    """``(random's globals, "_inst")`` when ``value`` is the ``random`` module or one of
    its functions, which all draw from that one generator (``numpy.random`` and its
    legacy functions: ``np.random.rand``, ``np.random.seed``, the same with its
    ``_rand``); else ``None``."""
    # (Read with defaults: another thread may be importing the module right now.)
    random = sys.modules.get("random")
    shared = getattr(random, "_inst", None)
    if shared is not None and (value is random or (
            type(value) in _BOUND and value.__self__ is shared)):
        return (random.__dict__, "_inst")
    legacy = sys.modules.get("numpy.random.mtrand")  # (numpy is imported lazily)
    shared = getattr(legacy, "_rand", None)
    if shared is None:
        return None
    if value is sys.modules.get("numpy.random") or (
            type(value) in _BOUND and value.__self__ is shared) or any(
            value is getattr(legacy, name, None) for name in ("seed", "set_state")):
        return (legacy.__dict__, "_rand")
    return None


def code_like(value: Any) -> bool:
    """Whether a global's value is code, not data (a module, function or class), or
    missing."""
    return value is MISSING or type(value) in _CODE_KINDS or isinstance(value, type)
