"""Rewriting jitted code so that the sites where a lazy value could be observed are seen.

A runtime proxy cannot intercept everything: ``r is None`` compares the proxy, an
f-string must produce a real ``str`` on the spot, ``json.loads(llm(q))`` hands the
proxy to C code. So each user function that runs under a trace is compiled again
from its source with those sites routed through ``tracing.runtime`` (calls, f-strings,
``%``, the operands of ``is``, the subject of ``match``, ``await``); see that module
for what each helper does. The new code object keeps the file name, line numbers and
columns of the original, so tracebacks, debuggers and coverage point at the user's
source; it is built once per code object and shared by every function object made
from it, with the same globals, closure cells and defaults.

The def is compiled inside a factory function whose parameters are the original's
free variables, so the new code reads the same closure cells. Names the factory binds
itself (the def's own name, the class wrapped around a method) are declared
``global`` there when the original reads them as globals: a recursive function or a
method naming its class still looks itself up where plain Python does. Qualified names
of the new code and of everything defined in it (``co_qualname``, a class's
``__qualname__``) are the original's, without the factory.

Where no source is available (code built with ``exec`` from a string, a REPL without
history), the function runs as it is: ``callees`` then treats a call of it like one of
library code (lazy arguments are resolved first, so it sees what plain Python would),
ops inside it run in program order where it could observe them (``frames``), and
``explain`` says so for a jitted function.

Why source rewriting and not bytecode rewriting: the syntax tree is the same on 3.11,
3.12 and 3.13 (bytecode is not: inlined comprehensions, superinstructions), it is
exact about ``try`` blocks, and ``inspect``/``linecache`` give the source of notebook
cells too (``source_texts``: with a file reloaded since, and ``%%time`` cells).
"""

from __future__ import annotations

import ast
import copy
import functools
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ember.xcs.tracing import frames
from ember.xcs.tracing.async_transform import AsyncSites
from ember.xcs.tracing.codemap import CodeMap
from ember.xcs.tracing.frames import is_user_code
from ember.xcs.tracing.source_texts import as_pytest_compiled, source_trees
from ember.xcs.tracing.sources import (
    Scope,
    arg_count,
    eager_lines_by_function,
    find_scope,
    find_scopes,
    first_column,
    same_code,
    signature_matches,
)
from ember.xcs.tracing.transform import TYPE_PARAMS, Rewriter

__all__ = ["Glue", "can_rewrite", "instrumented", "is_instrumented", "source_node",
           "source_problem"]

_FUTURE_FLAGS = 0x1000000  # CO_FUTURE_ANNOTATIONS; the other __future__ flags are no-ops now

_lock = threading.Lock()  # guards the caches below
_code_cache: CodeMap[tuple[types.CodeType | None]] = CodeMap()
_problems: CodeMap[str] = CodeMap()
# id(function) -> (weak reference to it, its rewritten form); a dead or reused id is
# told apart by the weak reference (cheaper per lookup than a WeakKeyDictionary).
_functions: dict[int, tuple[weakref.ref[types.FunctionType], types.CodeType,
                            types.FunctionType]] = {}
_produced: CodeMap[bool] = CodeMap()  # never cleared: produced code stays ours
_CACHE_LIMIT = 4096


def is_instrumented(code: types.CodeType) -> bool:
    """Whether ``code`` was produced by this module."""
    return code in _produced


def can_rewrite(code: types.CodeType) -> bool:
    """Whether user code ``code`` has a rewritten form (made now if it is not made yet)."""
    return code in _produced or _rewritten_code(code) is not None


class Glue:
    """The rewritten form of one jitted callable, made again when the function it runs
    changed: its ``__code__`` replaced (a reloader), its ``__defaults__`` or
    ``__kwdefaults__`` rebound (a settings reload), which the copy holds as they were,
    or, for a callable object, its class's ``__call__`` replaced; its globals and
    closure cells are the function's own. ``unrewritten(problem)`` hears why a callable
    that could not be rewritten runs as it is."""

    __slots__ = ("_code", "_defaults", "_fn", "_follow", "_function", "_glue", "_held",
                 "_kwdefaults", "_unrewritten")

    def __init__(self, fn: Any, unrewritten: Callable[[str], None]) -> None:
        self._fn = fn
        function = fn.__func__ if type(fn) is types.MethodType else fn
        # Whose code and defaults the copy holds (fn, or a bound method's function);
        # for a partial or a callable object, found again on each call (``_follow``).
        self._function = function if type(function) is types.FunctionType else None
        self._follow = self._function is None
        self._unrewritten = unrewritten
        self._glue: Any = None
        self._held: Any = None  # and the three below: the function's, when glue was made
        self._code: Any = None
        self._defaults: Any = None
        self._kwdefaults: Any = None

    def current(self) -> Any:
        """The function to run for a call of ``fn`` now."""
        glue = self._glue
        function = _runs(self._fn) if self._follow else self._function
        if glue is not None and function is self._held and (function is None or (
                function.__code__ is self._code and function.__defaults__ is self._defaults
                and function.__kwdefaults__ is self._kwdefaults)):
            return glue
        made_from = (function.__code__, function.__defaults__, function.__kwdefaults__) \
            if function is not None else (None, None, None)
        glue = self._glue = instrumented(self._fn, own=True)
        self._held = function  # after: never stale glue
        self._code, self._defaults, self._kwdefaults = made_from
        if glue is self._fn and (problem := source_problem(self._fn)):
            self._unrewritten(problem)
        return glue


def _runs(fn: Any) -> types.FunctionType | None:
    """The Python function a call of partial or callable object ``fn`` runs now (a
    partial's function, an object's class's ``__call__``), if there is one."""
    while type(fn) is functools.partial:
        fn = fn.func
    if type(fn) is types.MethodType:
        fn = fn.__func__
    if type(fn) is not types.FunctionType:
        fn = next((vars(base)["__call__"] for base in type(fn).__mro__
                   if "__call__" in vars(base)), None)
    return fn if type(fn) is types.FunctionType else None


def source_problem(fn: Any) -> str | None:
    """Why ``fn`` runs without rewriting (``None`` if it is rewritten or not user code)."""
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return None
    return _problems.get(code)


def source_node(code: types.CodeType) -> ast.AST | None:
    """The ``def`` (or lambda) node of ``code`` in its source, read as the rewriter reads
    it (``None`` without source, or when the source no longer matches the code)."""
    for module in source_trees(code.co_filename):
        found = find_scope(module, code)
        if found is not None and signature_matches(found[0], code):
            return found[0]
    return None


def instrumented(fn: Any, *, own: bool = False) -> Any:
    """The rewritten form of a user callable (``fn`` itself when there is none).

    ``own``: ``fn`` is the function a ``jit`` was given, rewritten wherever its file is
    (a package of the user's installed in site-packages too); the functions it calls
    are rewritten only when they are the user's (``frames.is_user_code``).
    """
    kind = type(fn)
    if kind is types.FunctionType:
        return _function(fn, own)
    if kind is types.MethodType:
        func = fn.__func__
        if type(func) is types.FunctionType:
            new = _function(func, own)
            return fn if new is func else types.MethodType(new, fn.__self__)
        return fn
    if kind is functools.partial:
        inner = instrumented(fn.func, own=own)
        return fn if inner is fn.func else functools.partial(inner, *fn.args, **fn.keywords)
    call = next((base.__dict__["__call__"] for base in kind.__mro__
                 if "__call__" in base.__dict__), None)
    if type(call) is types.FunctionType and is_user_code(call.__code__.co_filename):
        new = _function(call)
        return fn if new is call else types.MethodType(new, fn)
    return fn


def _function(fn: types.FunctionType, own: bool = False) -> types.FunctionType:
    code = fn.__code__
    if code in _produced:
        return fn
    if not is_user_code(code.co_filename):
        if not own or frames.is_internal(code):
            return fn
        frames.mark_user_file(code.co_filename)  # the module of a jitted function is the user's
    known = _functions.get(id(fn))
    # The same function object with the same code (``f.__code__`` may have been
    # replaced since, by a reloader such as IPython's autoreload).
    new = known[2] if known is not None and known[0]() is fn and known[1] is code else None
    if new is not None:
        if new.__defaults__ is not fn.__defaults__:
            new.__defaults__ = fn.__defaults__
        if new.__kwdefaults__ is not fn.__kwdefaults__:
            new.__kwdefaults__ = fn.__kwdefaults__
        return new
    rewritten = _rewritten_code(code)
    if rewritten is None:
        return fn
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    try:
        closure = tuple(cells[name] for name in rewritten.co_freevars)
    except KeyError as missing:
        _problems[code] = f"the source does not match the running code ({missing} unknown)"
        return fn
    new = types.FunctionType(rewritten, fn.__globals__, fn.__name__, fn.__defaults__,
                             closure or None)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__qualname__ = fn.__qualname__
    new.__module__ = fn.__module__
    new.__doc__ = fn.__doc__
    new.__dict__ = fn.__dict__
    try:
        new.__annotations__ = fn.__annotations__
    except Exception:  # annotations that fail to evaluate are not ours to report
        pass
    with _lock:
        if len(_functions) > _CACHE_LIMIT:
            _functions.clear()
        _functions[id(fn)] = (weakref.ref(fn), code, new)
    return new


def _rewritten_code(code: types.CodeType) -> types.CodeType | None:
    with _lock:
        known = _code_cache.get(code)
        if known is not None:
            return known[0]
    try:
        rewritten, problem = _rewrite(code)
    except (SyntaxError, ValueError, TypeError, RecursionError) as error:
        rewritten, problem = None, f"could not rewrite: {type(error).__name__}: {error}"
    with _lock:
        if len(_code_cache) > _CACHE_LIMIT:
            _code_cache.clear()
            _problems.clear()
        _code_cache[code] = (rewritten,)
        if problem is not None:
            _problems[code] = problem
    return rewritten


def _rewrite(code: types.CodeType) -> tuple[types.CodeType | None, str | None]:
    found = _source_of(code)
    if isinstance(found, str):
        return None, found
    node, classes = found
    node = copy.deepcopy(node)
    eager_lines = eager_lines_by_function(node)
    node = AsyncSites().visit(Rewriter().visit(node))
    rewritten, problem = _compile_as(_wrapped(node, classes, code), code)
    if rewritten is None:
        return None, problem
    rewritten = _renamed(rewritten, rewritten.co_qualname, code.co_qualname)
    with _lock:
        for inner in _code_objects(rewritten):
            _produced[inner] = True
            lines = eager_lines.get((inner.co_name, inner.co_firstlineno))
            frames.register_eager_lines(inner, lines if lines is not None else {})
    return rewritten, None


def _source_of(code: types.CodeType) -> tuple[Scope, list[str]] | str:
    """The def or lambda node of ``code`` whose source, compiled, is the code that runs,
    with the classes around it; or why there is none."""
    problem = "no source available (defined with exec(), or in a REPL without history)"
    for module in source_trees(code.co_filename):  # (tracing/source_texts.py)
        found = find_scopes(module, code)
        if not found:
            problem = "the source on disk does not contain this function (edited since import?)"
            continue
        problem = "the source on disk does not match the running function"
        for node, classes in found:
            if not signature_matches(node, code):
                continue
            for variant in _as_compiled(module, node, code.co_filename):
                plain, compiled_problem = _compile_as(_wrapped(variant, classes, code), code)
                # Edited since it was loaded (or a loader rewrote it): not what runs.
                if plain is not None and same_code(
                        _renamed(plain, plain.co_qualname, code.co_qualname), code):
                    return variant, classes
                problem = compiled_problem or problem
    return problem


def _as_compiled(module: ast.Module, node: Scope, filename: str) -> Iterator[Scope]:
    """``node`` as written, then as pytest compiles a test module, if that differs."""
    yield node
    pytest_compiled = as_pytest_compiled(module, node, filename)
    if pytest_compiled is not None:
        yield pytest_compiled


def _wrapped(node: ast.AST, classes: list[str], code: types.CodeType) -> list[ast.stmt]:
    """The statements to compile for a def or lambda ``node``."""
    body: list[ast.stmt] = [ast.Expr(node) if isinstance(node, ast.Lambda) else node]  # type: ignore[list-item]
    if classes or "__class__" in code.co_freevars:
        # A class body around the def: private names are mangled as in the original,
        # and zero-argument super() finds __class__ (the cell itself comes from the
        # original closure when the function object is built).
        class_name = classes[-1] if classes else "__xcs_class__"
        body = [ast.ClassDef(name=class_name, bases=[], keywords=[], body=body,
                             decorator_list=[], **TYPE_PARAMS)]
    return body


def _compile_as(body: list[ast.stmt], code: types.CodeType
                ) -> tuple[types.CodeType | None, str | None]:
    """``body`` compiled with the free variables of ``code``: its code object for ``code``."""
    parameters = [name for name in code.co_freevars if name != "__class__"]
    compiled = _compile(body, parameters, [], code)
    if compiled is None:
        return None, "the rewritten code could not be located (please report this)"
    extra = set(compiled.co_freevars) - set(code.co_freevars)
    if extra and "__class__" not in extra:
        # Names the factory binds (the def itself, a wrapper class) that the original
        # reads as globals: recursion, attributes on the function, a method naming its class.
        compiled = _compile(body, parameters, sorted(extra), code)
        extra = set(compiled.co_freevars) - set(code.co_freevars) if compiled else extra
    if compiled is None or extra:
        return None, "the source refers to variables the running function does not have"
    return compiled, None


def _compile(body: list[ast.stmt], parameters: list[str], global_names: list[str],
             code: types.CodeType) -> types.CodeType | None:
    """``body`` compiled inside a factory taking ``parameters``; the code object of ``code``."""
    declared: list[ast.stmt] = [ast.Global(names=global_names)] if global_names else []
    factory = ast.FunctionDef(
        name="__xcs_factory__",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=name) for name in parameters],
                           vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[*declared, *body, ast.Return(ast.Constant(None))], decorator_list=[],
        returns=None, **TYPE_PARAMS,
    )
    tree = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(tree)
    compiled = compile(tree, code.co_filename, "exec", flags=code.co_flags & _FUTURE_FLAGS,
                       dont_inherit=True)
    candidates = [c for c in _code_objects(compiled) if c.co_name == code.co_name
                  and c.co_firstlineno == code.co_firstlineno
                  and c.co_varnames[:arg_count(c)] == code.co_varnames[:arg_count(code)]]
    if len(candidates) > 1:  # lambdas on one line (one the default of another)
        candidates = [c for c in candidates if first_column(c) == first_column(code)]
    return candidates[0] if len(candidates) == 1 else None


def _renamed(code: types.CodeType, old: str, new: str) -> types.CodeType:
    """``code`` and the code nested in it with the qualified-name prefix ``old`` as ``new``.

    A class body stores its ``__qualname__`` as a constant equal to its own
    ``co_qualname``; that constant is renamed with it.
    """
    qualname = code.co_qualname
    if qualname != old and not qualname.startswith(old + "."):
        return code
    renamed = new + qualname[len(old):]
    consts = tuple(
        _renamed(const, old, new) if isinstance(const, types.CodeType)
        else renamed if type(const) is str and const == qualname else const
        for const in code.co_consts
    )
    return code.replace(co_qualname=renamed, co_consts=consts)


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)
