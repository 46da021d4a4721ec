"""The second syntax-tree pass of the rewriting, for ``async def`` glue only.

``transform.Rewriter`` already awaits the values a condition, a loop or a call needs.
This pass, run on its output, awaits what would otherwise still wait by blocking the
event loop: an ``in`` test (``"yes" in answer``: ``acontains``), the keys of a dict
display and the items of a set display (hashed at once), a ``*`` or ``**`` unpacked
op result, the iterable of a generator expression (read in the enclosing scope), and,
inside ``try`` and ``with`` blocks (where operations on op results run at once), the
operands of attribute reads, subscripts, operators and comparisons.

Before a ``try`` block that may catch a cancellation (a handler of ``CancelledError``
or ``BaseException``, a bare ``except``, a ``finally``) and before an ``async with``
block, the glue awaits ``settled()``: the ops it awaited before have ended, so that a
cancellation of the call meanwhile lands there, in the op, as in plain Python, and not
in the block (whose timeout, if it is one, then starts where it would in plain Python).

Lambdas, nested ``def``s, classes and generator bodies are left alone: ``await`` is not
possible there, or would change their meaning.
"""

from __future__ import annotations

import ast
from typing import Any

from ember.xcs.tracing.runtime_calls import RT
from ember.xcs.tracing.runtime_calls import runtime_call as _call

__all__ = ["AsyncSites"]

_CATCHING = frozenset({"BaseException", "CancelledError"})


def _runtime_call(node: ast.AST, *names: str) -> bool:
    """Whether ``node`` calls one of the named helpers of ``__xcs_rt__``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr in names \
        and isinstance(func.value, ast.Name) and func.value.id == RT


def _awaited(name: str, args: list[ast.expr], node: ast.AST) -> ast.expr:
    return ast.copy_location(ast.Await(value=_call(name, args, node)), node)


def _ready(node: ast.expr, name: str = "ready") -> ast.expr:
    if isinstance(node, ast.Constant | ast.Await) or (
            isinstance(node, ast.Name) and node.id == RT):
        return node
    return _awaited(name, [node], node)


def _catches_cancellation(node: ast.Try | ast.TryStar) -> bool:
    """Whether a handler of ``node`` may see a cancellation of the call (static: by name)."""
    if node.finalbody:
        return True
    for handler in node.handlers:
        kinds = handler.type
        if kinds is None:
            return True
        for kind in kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]:
            name = kind.attr if isinstance(kind, ast.Attribute) else \
                kind.id if isinstance(kind, ast.Name) else None
            if name is None or name in _CATCHING:
                return True
    return False


class AsyncSites(ast.NodeTransformer):
    """Awaits, in ``async def`` bodies, the values the sites above need (module doc)."""

    def __init__(self) -> None:
        self.awaiting = False
        self.in_block = False  # inside a try/with statement of an async def body

    def _scoped(self, node: ast.AST, awaiting: bool) -> Any:
        saved = self.awaiting, self.in_block
        self.awaiting, self.in_block = awaiting, False
        try:
            return self.generic_visit(node)
        finally:
            self.awaiting, self.in_block = saved

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, awaiting: bool) -> Any:
        # Only the body: decorators, defaults and annotations stay as the first pass left them.
        saved = self.awaiting, self.in_block
        self.awaiting, self.in_block = awaiting, False
        try:
            node.body = self._statements(node.body)
        finally:
            self.awaiting, self.in_block = saved
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        return self._function(node, True)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return self._function(node, False)

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        return self._scoped(node, False)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        return self._scoped(node, False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> Any:
        first = node.generators[0]
        first.iter = self.visit(first.iter)  # evaluated where the expression stands
        if self.awaiting:  # the iterable itself is awaited, inside the loop's wrappers
            wrapper: ast.Call | None = None
            inner: ast.expr = first.iter
            while isinstance(inner, ast.Call) and _runtime_call(inner, "CellLoop", "unpacked"):
                wrapper, inner = inner, inner.args[0]
            if wrapper is None:
                first.iter = _ready(first.iter)
            else:
                wrapper.args[0] = _ready(inner)
        saved = self.awaiting, self.in_block
        self.awaiting = self.in_block = False
        try:
            node.elt = self.visit(node.elt)
            first.target = self.visit(first.target)
            first.ifs = [self.visit(test) for test in first.ifs]
            node.generators[1:] = [self.visit(more) for more in node.generators[1:]]
        finally:
            self.awaiting, self.in_block = saved
        return node

    # -- try and with blocks ----------------------------------------------------------

    def _block(self, node: ast.stmt, settle: bool) -> Any:
        saved, self.in_block = self.in_block, self.awaiting
        try:
            self.generic_visit(node)
        finally:
            self.in_block = saved
        if not (settle and self.awaiting):
            return node
        wait = ast.copy_location(ast.Expr(value=_awaited("settled", [], node)), node)
        return [wait, node]

    def visit_Try(self, node: ast.Try) -> Any:
        return self._block(node, _catches_cancellation(node))

    def visit_TryStar(self, node: ast.TryStar) -> Any:
        return self._block(node, _catches_cancellation(node))

    def visit_With(self, node: ast.With) -> Any:
        return self._block(node, False)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        return self._block(node, True)

    def visit_match_case(self, node: ast.match_case) -> Any:
        if node.guard is not None:  # the pattern stays as it is: no expression may go there
            node.guard = self.visit(node.guard)
        node.body = self._statements(node.body)
        return node

    def _statements(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        body: list[ast.stmt] = []
        for statement in statements:
            new = self.visit(statement)
            body += new if isinstance(new, list) else [new]
        return body

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        node.target = self.visit(node.target)  # the annotation stays as written
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def _operand(self, node: ast.expr) -> ast.expr:
        """``node``, awaited first inside a try/with block (the operation runs at once)."""
        return _ready(node) if self.awaiting and self.in_block else node

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        self.generic_visit(node)
        node.value = self._operand(node.value)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        self.generic_visit(node)
        node.value = self._operand(node.value)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        node.left, node.right = self._operand(node.left), self._operand(node.right)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        self.generic_visit(node)
        node.operand = self._operand(node.operand)
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        self.generic_visit(node)
        node.left = self._operand(node.left)
        node.comparators = [self._operand(operand) for operand in node.comparators]
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        if not (self.awaiting and self.in_block and isinstance(node.target, ast.Name)):
            return node
        load = ast.copy_location(ast.Name(id=node.target.id, ctx=ast.Load()), node.target)
        return [ast.copy_location(ast.Expr(value=_ready(load)), node), node]

    # -- everywhere in async def bodies -----------------------------------------------

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        if not self.awaiting:
            return node
        if _runtime_call(node, "contains"):
            return _awaited("acontains", node.args, node)
        if _runtime_call(node, "splat", "splat_listed", "splat_mapping"):
            node.args = [_ready(node.args[0])]
        elif self.in_block and _runtime_call(node, "fmt"):
            node.args[0] = _ready(node.args[0])
        elif self.in_block and _runtime_call(node, "mod", "imod"):
            node.args = [_ready(arg, "ready_deep") for arg in node.args]
        return node

    def visit_Set(self, node: ast.Set) -> Any:
        self.generic_visit(node)
        if self.awaiting:
            node.elts = [self._unpacked(item) if isinstance(item, ast.Starred) else _ready(item)
                         for item in node.elts]
        return node

    def visit_List(self, node: ast.List) -> Any:
        self.generic_visit(node)
        if self.awaiting and isinstance(node.ctx, ast.Load):
            node.elts = [self._unpacked(item) for item in node.elts]
        return node

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        self.generic_visit(node)
        if self.awaiting and isinstance(node.ctx, ast.Load):
            node.elts = [self._unpacked(item) for item in node.elts]
        return node

    def visit_Dict(self, node: ast.Dict) -> Any:
        self.generic_visit(node)
        if self.awaiting:
            node.keys = [None if key is None else _ready(key) for key in node.keys]
            node.values = [
                _call("observe", [_ready(value), ast.copy_location(ast.Constant("** unpacking"),
                                                                   value)], value)
                if key is None else value for key, value in zip(node.keys, node.values,
                                                               strict=True)]
        return node

    def _unpacked(self, item: ast.expr) -> ast.expr:
        if isinstance(item, ast.Starred):
            item.value = _ready(item.value)
        return item
