"""The syntax-tree pass of the rewriting: which expressions go through ``tracing.runtime``.

``Rewriter`` turns a function's syntax tree into the tree ``tracing.rewrite`` compiles
instead: calls become ``__xcs_rt__.prep(f, ...)()``, f-strings ``fstring(fmt(...))``,
``a % b`` ``mod(a, b)``, ``a < b`` and ``a + b`` between two expressions that are not
literals ``operate("<", a, b)``; the objects of ``async for`` and ``async with`` go through
``observe``, and so do the sites Python looks at itself (``is``, ``in``, ``match``,
``raise``, ``except``, an ``assert``'s message: ``tracing.observed_sites``); what
generators yield goes through ``yielded``, ``await x`` becomes ``await awaitable(x)``,
``eval`` ``evaluator(...)``.
A statement that changes an object in place (``obj.x = v``, ``del obj.x``) is preceded
by ``changing(obj)``; a loop over a variable a nested function reads, by ``CellLoop``.
In ``async def`` bodies the places needing a value are awaited first (``ready``, ``aprep``).
New nodes take the positions of the nodes they replace: tracebacks show the user's code.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from ember.xcs.tracing.observed_sites import ObservedSites, unpacked
from ember.xcs.tracing.runtime_calls import keyword_chain, plain_call
from ember.xcs.tracing.runtime_calls import runtime_call as _call
from ember.xcs.tracing.targets import (
    bound_names,
    cell_arguments,
    changed_objects,
    declared_globals,
    loop_stores,
    path_of,
    read_by_nested,
    slot,
    statement_targets,
)

__all__ = ["TYPE_PARAMS", "Rewriter"]

_NEVER_WRAPPED = frozenset({"super", "locals", "globals", "breakpoint"})
_NEED_ARGS = frozenset({"vars", "dir"})  # frame-dependent only without arguments
# Defs and classes have type parameters from 3.12 on (PEP 695): none here.
TYPE_PARAMS: dict[str, Any] = {"type_params": []} if sys.version_info >= (3, 12) else {}


# The check around an assignment's value, per kind of check (see tracing.guards).
_WRAPPERS = {"changing": "stored", "rebinding": "bound", "rebinding_cell": "bound_cell"}


class Rewriter(ObservedSites):
    """Routes the observing sites of a function through ``tracing.runtime``.

    Inside an ``async def`` (not in its lambdas, nested ``def``s or generator
    expressions, where ``await`` is not possible or would change their meaning) the
    places that wait for a value are awaited instead: a branch condition, a loop's
    iterable, a call that needs real arguments. The event loop keeps running while
    the ops behind them finish.
    """

    def __init__(self) -> None:
        self.awaiting = False  # the current scope is an async def body
        self.globals: frozenset[str] = frozenset()  # names the current scope declares global
        self.cells: frozenset[str] = frozenset()  # its variables nested functions may read

    def _scoped(self, node: ast.AST, awaiting: bool, inherit: bool = False) -> ast.AST:
        saved = self.awaiting, self.globals, self.cells, self.in_class
        self.awaiting, self.in_class = awaiting, isinstance(node, ast.ClassDef) or (
            inherit and self.in_class)
        # A generator expression's walrus binds a variable of the enclosing scope.
        self.globals = declared_globals(node) | (self.globals if inherit else frozenset())
        self.cells = read_by_nested(node) | (self.cells if inherit else frozenset())
        try:
            return self.generic_visit(node)
        finally:
            self.awaiting, self.globals, self.cells, self.in_class = saved

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        # Decorators, defaults and annotations run in the enclosing scope: no awaits there.
        saved = self.awaiting, self.globals, self.cells
        self.awaiting = False
        try:
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
            node.args = self.visit(node.args)
            self.awaiting, self.globals = True, declared_globals(node)
            self.cells = read_by_nested(node)
            body: list[ast.stmt] = []
            for statement in node.body:  # a statement may become several (``changing``)
                new = self.visit(statement)
                body += new if isinstance(new, list) else [new]
            node.body = body
        finally:
            self.awaiting, self.globals, self.cells = saved
        return self._binds(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        returns, node.returns = node.returns, None  # stays as written, like the others
        try:
            self._scoped(node, False)
        finally:
            node.returns = returns
        return self._binds(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._scoped(node, False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        self._scoped(node, False, inherit=True)
        node.elt = _call("yielded", [node.elt], node.elt)  # it may run after the call
        return node

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        self.generic_visit(node)
        if node.value is not None:
            node.value = _call("yielded", [node.value], node.value)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        # Decorators, bases and keywords run in the enclosing scope. Python reads the bases
        # itself (their class is the metaclass): an op result there gives its real object.
        node.decorator_list = [self.visit(decorator) for decorator in node.decorator_list]
        node.bases = [self._real_base(self.visit(base)) for base in node.bases]
        node.keywords = [self.visit(keyword) for keyword in node.keywords]
        outside = node.decorator_list, node.bases, node.keywords
        node.decorator_list, node.bases, node.keywords = [], [], []
        try:
            self._scoped(node, False)
        finally:
            node.decorator_list, node.bases, node.keywords = outside
        return self._binds(node)

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)
        node.test = self._ready(node.test)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        node.test = self._ready(node.test)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        node.test = self._ready(node.test)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [self._ready(value) for value in node.values]
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self._ready(node.operand)
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        items = unpacked(node.target, self._ready(node.iter))
        node.iter = self._cell_loop(node.target, items, "CellLoop")
        return node

    def _cell_loop(self, target: ast.expr, items: ast.expr, loop: str,
                   comprehension: bool = False) -> ast.expr:
        """``items``, through ``CellLoop`` (``ACellLoop``) if a nested function reads a
        loop variable, or the statement binds a global (a comprehension's are its own)."""
        names = bound_names([target])
        read: list[ast.expr] = [ast.Constant(name.id) for name in names if name.id in self.cells]
        rebound: list[ast.expr] = [] if comprehension else [
            ast.Constant(name.id) for name in names if name.id in self.globals]
        before = loop_stores(target) if loop == "CellLoop" else None  # for state.cur in ...
        if not (read or rebound or before):
            return items
        return _call(loop, [items, ast.Tuple(read, ast.Load()), ast.Tuple(rebound, ast.Load()),
                            *([before] if before else [])], items)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._cell_loop(node.target, self._real_object(node.iter, "async for"),
                                    "ACellLoop")
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        self.generic_visit(node)
        for item in node.items:
            item.context_expr = self._real_object(item.context_expr, "async with")
        return self._binds(node)

    def visit_With(self, node: ast.With) -> Any:
        self.generic_visit(node)
        for item in node.items:  # `with cm:`, cm an op result: its own __enter__, or plain's error
            item.context_expr = self._real_object(item.context_expr, "with")
        return self._binds(node)

    def visit_Try(self, node: ast.Try) -> Any:
        self.generic_visit(node)
        return self._binds(node)

    def visit_TryStar(self, node: ast.TryStar) -> Any:
        self.generic_visit(node)
        return self._binds(node)

    def visit_Match(self, node: ast.Match) -> Any:
        return self._binds(super().visit_Match(node))  # type: ignore[arg-type]

    def visit_Import(self, node: ast.Import) -> Any:
        return self._binds(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        return self._binds(node)

    def _binds(self, node: ast.stmt) -> Any:
        """``node``, after the checks for the names it binds other than by assigning
        (``with ... as``, ``except ... as``, ``match`` captures, imports, ``def`` and
        ``class``): in plain Python
        the ops reading them had ended before it ran."""
        return self._changes(node, statement_targets(node))

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        if node.is_async:
            node.iter = self._cell_loop(node.target, self._real_object(node.iter, "async for"),
                                        "ACellLoop", comprehension=True)
        else:
            items = unpacked(node.target, self._ready(node.iter))
            node.iter = self._cell_loop(node.target, items, "CellLoop", comprehension=True)
        node.ifs = [self._ready(test) for test in node.ifs]
        return node

    def visit_NamedExpr(self, node: ast.NamedExpr) -> Any:
        self.generic_visit(node)  # (r := ask(q)): checked once its value exists, as `r = ...`
        return self._changes(node, [node.target])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("eval", "exec"):  # see evaluator
            node.func = _call("evaluator", [func, plain_call("globals", node),
                                            plain_call("locals", node)], node)
            return node
        if isinstance(func, ast.Name) and (
            func.id in _NEVER_WRAPPED or (func.id in _NEED_ARGS and not node.args)
        ):
            return node
        name = "prep"
        args, keywords = node.args, node.keywords
        if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in keywords):
            # f(*xs, **kw): checked by the runtime, so that a bad one raises what plain
            # Python raises, naming f (not prep), and an op result unpacked is its value.
            name = "prep_unpacked"
            splat = "splat" if len(args) == 1 else "splat_listed"  # f(*x) names f: see there
            args = [ast.copy_location(ast.Starred(value=_call(splat, [a.value], a.value),
                                                  ctx=ast.Load()), a)
                    if isinstance(a, ast.Starred) else a for a in args]
            if any(k.arg is None for k in keywords):  # see keyword_chain
                func, args, keywords = keyword_chain(func, args, keywords, node), [], []
        if self.awaiting:
            prepared: ast.expr = ast.copy_location(
                ast.Await(value=_call(f"a{name}", [func, *args], node, keywords)), node)
        else:
            prepared = _call(name, [func, *args], node, keywords)
        return ast.copy_location(ast.Call(func=prepared, args=[], keywords=[]), node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        if not self.awaiting:  # {**r}: an op result unpacked is its value (plain errors)
            node.values = [
                _call("observe", [value, ast.copy_location(ast.Constant("** unpacking"), value)],
                      value) if key is None else value
                for key, value in zip(node.keys, node.values, strict=True)]
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        parts: list[ast.expr] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                spec: ast.expr = (self.visit(value.format_spec) if value.format_spec is not None
                                  else ast.copy_location(ast.Constant(None), value))
                parts.append(_call("fmt", [self.visit(value.value),
                                           ast.copy_location(ast.Constant(value.conversion),
                                                             value), spec], value))
            else:
                parts.append(value)
        return _call("fstring", parts, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mod) and isinstance(node.target, ast.Name):
            load = ast.copy_location(ast.Name(id=node.target.id, ctx=ast.Load()), node.target)
            return ast.copy_location(
                ast.Assign(targets=[node.target], value=_call("imod", [load, node.value], node)),
                node)
        self._inplace_operand(node)
        return self._changes(node, [node.target])

    def visit_Assign(self, node: ast.Assign) -> Any:
        self.generic_visit(node)
        if any(isinstance(target, ast.Tuple | ast.List) for target in node.targets) \
                and not isinstance(node.value, ast.Tuple | ast.List):
            # a, b = r: unpacked as the real object ("cannot unpack non-iterable ...").
            reason = ast.copy_location(ast.Constant("unpacking"), node.value)
            node.value = _call("observe", [self._ready(node.value), reason], node.value)
        return self._changes(node, node.targets)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        node.target = self.visit(node.target)  # the annotation stays as written
        if node.value is None:
            return node
        node.value = self.visit(node.value)
        return self._changes(node, [node.target])

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node  # annotations stay as written: code reads them (as text, with PEP 563)

    def visit_Delete(self, node: ast.Delete) -> Any:
        self.generic_visit(node)
        return self._changes(node, node.targets)

    def _changes(self, node: ast.stmt | ast.NamedExpr, targets: list[ast.expr]) -> Any:
        """``node`` checked by ``changing(obj)`` for each object it changes in place, and
        by ``rebinding(name)`` for each global it binds (``global MODEL``).

        A statement storing a value checks once its value exists, right before the
        store (``stored``, ``bound`` wrap the value): an op the value's own expression
        issued that reads the object or global ends first (``MODE = ask(x)`` where
        ``ask`` reads ``MODE``), as in plain Python, where it had finished."""
        stores = not isinstance(node, ast.Delete)
        calls: list[tuple[ast.expr, str, list[ast.expr], list[ast.keyword]]] = [
            (target, "changing", path_of(target.value), slot(target) if stores else [])
            for target in changed_objects(targets)]
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            # `a += 1` changes a NumPy array or a bytearray in place, as `a[0] = 1` does.
            calls.insert(0, (node.target, "changing", path_of(node.target), []))
        if self.globals:
            calls += [(target, "rebinding", [ast.copy_location(ast.Constant(target.id), target)],
                       []) for target in bound_names(targets) if target.id in self.globals]
        if self.cells:  # a variable an op defined in here may read
            calls += [(target, "rebinding_cell", cell_arguments(target), [])
                      for target in bound_names(targets) if target.id in self.cells]
        value = getattr(node, "value", None)
        if stores and value is not None and calls:
            for _target, name, args, keywords in calls:
                wrapper = _WRAPPERS[name]
                wrapped: ast.expr = _call(f"a{wrapper}" if self.awaiting else wrapper,
                                          [value, *args], value, keywords)
                if self.awaiting:
                    wrapped = ast.copy_location(ast.Await(value=wrapped), value)
                value = wrapped
            node.value = value  # type: ignore[union-attr]
            return node
        guards: list[ast.stmt] = []
        for target, name, args, keywords in calls:
            guard: ast.expr = _call(f"a{name}" if self.awaiting else name, args, target,
                                    keywords)
            if self.awaiting:
                guard = ast.copy_location(ast.Await(value=guard), target)
            guards.append(ast.copy_location(ast.Expr(value=guard), node))
        return [*guards, node] if guards else node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        node.slice = self._index(node.slice)
        return node

    def _index(self, index: ast.expr) -> ast.expr:
        """An index or slice bound, through ``key``: the container gets the real object."""
        if isinstance(index, ast.Slice):
            for part in ("lower", "upper", "step"):
                bound = getattr(index, part)
                if bound is not None:
                    setattr(index, part, self._index(bound))
            return index
        if isinstance(index, ast.Tuple):  # grid[i, j]
            index.elts = [self._index(item) for item in index.elts]
            return index
        if isinstance(index, ast.Constant | ast.Starred):
            return index
        return _call("key", [self._ready(index)], index)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        name = node.attr
        if isinstance(node.ctx, ast.Load) and name.startswith("__") and name.endswith("__") \
                and len(name) > 4:
            # r.__doc__, r.__class__, r.__eq__(x): the real object's own, not the proxy's.
            reason = ast.copy_location(ast.Constant(f".{name}"), node)
            node.value = _call("observe", [self._ready(node.value), reason], node.value)
        return node

    def visit_Await(self, node: ast.Await) -> ast.AST:
        self.generic_visit(node)
        node.value = _call("awaitable", [node.value], node.value)
        return node

