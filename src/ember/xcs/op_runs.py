"""What running an op has shown: how long its runs take, and what its results are.

The engine records both (``Op.observe``, ``Op.last_type``); ``Op.runs_inline`` and
``Op.result_type`` read them.
"""

from __future__ import annotations

import ast
import inspect
import sys
import threading
import typing
from collections.abc import Callable
from typing import Any

from ember.xcs.tracing.codemap import CodeMap

__all__ = ["FAST_RUNS_AFTER_SLOW", "INLINE_AFTER", "INLINE_LIMIT", "SLOW_LIMIT", "UNRESOLVED",
           "RunTiming", "current_class", "return_class", "timing_lock"]

INLINE_AFTER = 16  # runs observed before an op may run inline
INLINE_LIMIT = 100e-6  # the running average of run times must stay below this
SLOW_LIMIT = 20e-3  # a run this long (far beyond GIL switching) stops inlining
FAST_RUNS_AFTER_SLOW = 100  # faster runs that must follow a slow one before inlining again
UNRESOLVED: Any = object()  # an op's return annotation, not looked at yet


def return_class(fn: Callable[..., Any]) -> type | None:
    """The class of ``fn``'s results, when known before it runs: the class its return
    annotation names (not ``Any``, ``object``, an abstract class or a protocol, which
    say nothing of it), else the one class every ``return`` of its source constructs."""
    fn = inspect.unwrap(fn)
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable names, objects without annotations: not known
        hint = None
    if isinstance(hint, type):
        vague = hint is object or hint.__module__ in ("typing", "collections.abc", "numbers") \
            or inspect.isabstract(hint) or getattr(hint, "_is_protocol", False)
        return None if vague else hint
    return _constructed(fn) if hint is None else None


# code object -> the class its returns construct. By identity: equal code objects (the
# same text at the same lines of two modules, a notebook cell run again) may name
# different classes.
_inferred: CodeMap[type | None] = CodeMap(limit=4096)


def _constructed(fn: Any) -> type | None:
    """The class all ``return`` statements of ``fn`` construct (``return Reply(...)``;
    an f-string or a str literal counts as ``str``), or ``None``."""
    function = getattr(fn, "__func__", fn)
    code = getattr(function, "__code__", None)
    if code is None or code.co_flags & inspect.CO_GENERATOR:
        return None
    if code in _inferred:
        return _inferred.get(code)
    from ember.xcs.tracing.rewrite import source_node  # the source as the rewriter reads it

    node = source_node(code)  # None without source (a REPL, exec): not known
    found = _returned_class(node, function.__globals__) if node is not None else None
    _inferred[code] = found
    return found


def current_class(cls: type) -> type:
    """The class now bound to ``cls``'s name in its module: a class defined again (a
    notebook cell run again, a module reloaded) replaces the one an op's annotation,
    source or earlier result named, as the op's next ``Reply(...)`` finds the new one.

    Example:
        >>> import sys, types
        >>> sys.modules["notebook"] = notebook = types.ModuleType("notebook")
        >>> exec("class Reply: pass", vars(notebook)); old = notebook.Reply
        >>> exec("class Reply: pass", vars(notebook))  # the cell run again
        >>> current_class(old) is notebook.Reply, old is notebook.Reply
        (True, False)
        >>> del sys.modules["notebook"]
    """
    module = sys.modules.get(cls.__module__)
    path = cls.__qualname__.split(".")
    bound = getattr(module, "__dict__", {}).get(path[0])
    if bound is cls or module is None or "<" in cls.__qualname__:  # (the usual case first)
        return cls
    for name in path[1:]:  # a class nested in another
        bound = vars(bound).get(name) if isinstance(bound, type) else None
    if isinstance(bound, type) and bound.__qualname__ == cls.__qualname__:
        return bound
    return cls


def _returned_class(node: ast.AST, names: dict[str, Any]) -> type | None:
    """The one class the ``return`` statements of ``node`` construct, directly or through
    a local name every assignment of which constructs it (``t = Thread(...)``, ``return t``)."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    returned: list[ast.expr | None] = []
    bound: dict[str, set[Any]] = {arg.arg: {None} for arg in ast.walk(node.args)
                                  if isinstance(arg, ast.arg)}
    todo: list[ast.AST] = list(node.body)
    while todo:
        current = todo.pop()
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                      | ast.ClassDef):
            continue  # another scope's returns
        if isinstance(current, ast.Return):
            returned.append(current.value)
        elif isinstance(current, ast.Assign) and len(current.targets) == 1 \
                and isinstance(current.targets[0], ast.Name):
            bound.setdefault(current.targets[0].id, set()).add(_class_of(current.value, names))
            todo.append(current.value)
            continue
        elif isinstance(current, ast.Name) and not isinstance(current.ctx, ast.Load):
            bound.setdefault(current.id, set()).add(None)  # bound another way: not known
        todo.extend(ast.iter_child_nodes(current))
    kinds: set[Any] = set()
    for value in returned:
        if isinstance(value, ast.Name) and value.id in bound:
            kinds |= bound[value.id]
        else:
            kinds.add(_class_of(value, names))
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    return kind if isinstance(kind, type) else None


def _class_of(value: ast.expr | None, names: dict[str, Any]) -> Any:
    if isinstance(value, ast.JoinedStr) or (isinstance(value, ast.Constant)
                                            and isinstance(value.value, str)):
        return str
    if isinstance(value, ast.Call):
        target: Any = value.func
        path: list[str] = []
        while isinstance(target, ast.Attribute):
            path.append(target.attr)
            target = target.value
        if isinstance(target, ast.Name) and target.id in names:
            found = names[target.id]
            for attribute in reversed(path):
                found = getattr(found, attribute, None)
            if isinstance(found, type):
                return found
    return None  # anything else: not known


class RunTiming:
    """How long an op's runs took (shared by all bindings of a method op).

    ``slow`` rises by a hundred for each run over ``SLOW_LIMIT`` and falls by one for
    each faster one; the op runs inline only while it is 0, so a hundred faster runs
    must pass after a slow one (two hundred after two). An op that really waits on I/O
    now and then never gets there, while a tiny op that was once descheduled mid-run
    (a busy machine) does.
    """

    __slots__ = ("average", "never_inline", "runs", "slow")

    def __init__(self) -> None:
        self.runs = 0
        self.average = 0.0
        self.slow = 0
        self.never_inline = False


timing_lock = threading.Lock()  # guards every RunTiming update (held for a few statements)
