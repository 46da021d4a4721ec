"""The sites where Python itself looks at a value, part of the rewriting (``transform``).

A proxy answers operations (``r.strip()``, ``r + "!"``), but some sites of a function's
code are the interpreter's own look at an object, which no proxy can answer: the
operands of ``is``; the classes an ``except`` clause names and what a ``raise``
raises (and its cause), which must derive from ``BaseException``; the message an
``assert`` puts into its ``AssertionError``; the subject of ``match``. ``ObservedSites``
routes them through ``observe`` / ``observe_deep`` (``tracing.observing``), the real
objects, and ``a in b`` through ``contains``. Inside an ``async def`` (``awaiting``) the
values are awaited first (``ready``, ``ready_deep``), so the event loop runs on.
"""

from __future__ import annotations

import ast
import copy

from ember.xcs.tracing.patterns import through_lazy
from ember.xcs.tracing.runtime_calls import runtime_call as _call

__all__ = ["NAMES", "ObservedSites", "builtin_name", "unpacked"]

_PLAIN_CONSTANTS = (type(None), bool, type(Ellipsis))
# The operator each syntax node class stands for (``ast.Lt``: ``"<"``), for
# ``tracing.operators.operate``; ``%`` has its own helper (``tracing.formatting.mod``).
SYMBOLS = {"Lt": "<", "Gt": ">", "LtE": "<=", "GtE": ">=", "Eq": "==", "NotEq": "!=",
           "Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "FloorDiv": "//", "Pow": "**",
           "MatMul": "@", "LShift": "<<", "RShift": ">>", "BitAnd": "&", "BitOr": "|",
           "BitXor": "^"}
# The function of each symbol in ``tracing.operators``, which rewritten code calls.
NAMES = {"<": "op_lt", ">": "op_gt", "<=": "op_le", ">=": "op_ge", "==": "op_eq",
         "!=": "op_ne", "+": "op_add", "-": "op_sub", "*": "op_mul", "/": "op_truediv",
         "//": "op_floordiv", "**": "op_pow", "@": "op_matmul", "<<": "op_lshift",
         ">>": "op_rshift", "&": "op_and", "|": "op_or", "^": "op_xor"}
_IN_PLACE_OPERATORS = (ast.Add, ast.Mult, ast.Sub, ast.BitOr, ast.BitAnd, ast.BitXor, ast.Div,
                       ast.FloorDiv, ast.Pow, ast.MatMult, ast.LShift, ast.RShift)
_NEVER_LAZY = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp,
               ast.DictComp, ast.JoinedStr)


def builtin_name(symbol: str) -> str:
    """The built-in name rewritten code calls ``symbol``'s operator function by."""
    return f"__xcs_{NAMES[symbol]}__"


def _literal(node: ast.expr) -> bool:
    """Whether ``node`` is written as a literal (``[x]``, ``-1``, ``f"{x}"``): a value of a
    built-in type, never an op result nor an object of the user's."""
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        node = node.operand
    return isinstance(node, _NEVER_LAZY)


class ObservedSites(ast.NodeTransformer):
    """The visitors of the sites Python looks at itself (see the module docstring)."""

    awaiting = False  # the current scope is an async def body (set by the Rewriter)
    in_class = False  # the current scope is a class body (names read from its namespace)

    def _ready(self, node: ast.expr) -> ast.expr:
        """``node``'s value, first awaited until it exists (in an async scope)."""
        if not self.awaiting:
            return node
        return ast.copy_location(ast.Await(value=_call("ready", [node], node)), node)

    def _real_object(self, node: ast.expr, reason: str) -> ast.expr:
        """``node``'s real object, awaited first: its own ``__aiter__``, ``__aenter__``."""
        return _call("observe", [self._ready(node), ast.copy_location(ast.Constant(reason), node)],
                     node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            negated = [ast.copy_location(ast.Constant(True), node)] \
                if isinstance(node.ops[0], ast.NotIn) else []
            return _call("contains", [node.left, node.comparators[0], *negated], node)
        operands = [node.left, *node.comparators]
        observed: set[int] = set()
        for index, op in enumerate(node.ops):
            if isinstance(op, ast.Is | ast.IsNot):
                observed.update((index, index + 1))
        if not observed:
            return self._operated(node.left, node.ops[0], node.comparators[0], node) \
                if len(node.ops) == 1 else node

        def wrap(index: int, operand: ast.expr) -> ast.expr:
            if index not in observed or (isinstance(operand, ast.Constant)
                                         and isinstance(operand.value, _PLAIN_CONSTANTS)):
                return operand
            return _call("observe", [self._ready(operand)], operand)

        wrapped = [wrap(i, operand) for i, operand in enumerate(operands)]
        node.left, node.comparators = wrapped[0], wrapped[1:]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mod):
            return _call("mod", [node.left, node.right], node)
        return self._operated(node.left, node.op, node.right, node)

    def _operated(self, left: ast.expr, op: ast.AST, right: ast.expr,
                  node: ast.expr) -> ast.expr:
        """``__xcs_op_lt__(left, right)`` (``tracing.operators.op_lt``, a built-in name:
        one cached lookup) for an operator between two expressions either of which may
        be an op result, the left one the user's object (``tracing.operators``); else
        ``node`` as it is: a literal on either side is neither."""
        symbol = SYMBOLS.get(type(op).__name__)
        if symbol is None or _literal(left) or _literal(right):
            return node
        function = ast.copy_location(ast.Name(id=builtin_name(symbol), ctx=ast.Load()), node)
        routed = ast.copy_location(ast.Call(func=function, args=[left, right], keywords=[]),
                                   node)
        if self.awaiting or self.in_class or not isinstance(left, ast.Name) \
                or not isinstance(right, ast.Name):
            return routed
        # Two variables (`total + d`, `i < n`, the arithmetic of a loop): read again without
        # effect, so the operator is written in place, called only for a lazy right one.
        # The left one is read first (`left is left`), so an unbound one fails first.
        def name(text: str) -> ast.Name:
            return ast.copy_location(ast.Name(id=text, ctx=ast.Load()), node)
        is_real = ast.Compare(left=ast.Call(func=name("__xcs_type__"), args=[name(right.id)],
                                            keywords=[]),
                              ops=[ast.IsNot()], comparators=[name("__xcs_lazy__")])
        read_first = ast.Compare(left=name(left.id), ops=[ast.Is()], comparators=[name(left.id)])
        test = ast.BoolOp(op=ast.And(), values=[read_first, is_real])
        return ast.fix_missing_locations(ast.copy_location(
            ast.IfExp(test=ast.copy_location(test, node), body=node, orelse=routed), node))

    def _real_tree(self, node: ast.expr, reason: str) -> ast.expr:
        """``node``'s value with the op results inside it replaced by their values."""
        value = node
        if self.awaiting:
            value = ast.copy_location(ast.Await(value=_call("ready_deep", [node], node)), node)
        return _call("observe_deep", [value, ast.copy_location(ast.Constant(reason), node)],
                     node)

    def visit_Match(self, node: ast.Match) -> ast.AST:
        self.generic_visit(node)
        node.subject = self._real_tree(node.subject, "match")
        node.cases = [through_lazy(case) for case in node.cases]  # what class patterns read
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.generic_visit(node)
        node.test = self._ready(node.test)
        if node.msg is not None:  # Python makes the AssertionError: values, as for a call
            node.msg = self._real_tree(node.msg, "assert message")
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        self.generic_visit(node)  # `except errors:`: Python matches against the classes
        if node.type is not None:
            node.type = self._real_tree(node.type, "except")
        return node

    def visit_List(self, node: ast.List) -> ast.AST:
        return self._display(node)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        return self._display(node)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        return self._display(node)

    def _display(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:
        """``[*r]``: Python iterates the real object, with its own ``Value after *`` error."""
        self.generic_visit(node)
        if not isinstance(node, ast.Set) and not isinstance(node.ctx, ast.Load):
            return node  # a target
        for item in node.elts:
            if isinstance(item, ast.Starred):
                item.value = self._real_object(item.value, "* unpacking")
        return node

    def _inplace_operand(self, node: ast.AugAssign) -> None:
        """``lst += r``: a list, deque, set or dict changed in place gets the real object
        (the lazy one's ``__radd__`` would answer first, and make a new list), and so
        does an object of the user's class (``tally /= r``: its method, given the lazy
        value, would be asked twice and the error name ``/``, not ``/=``). Only for
        a name, which reads again without effect; ``self.total += r`` and ``d[k] += r``
        (a variable's attribute or item) give the helper the owner and the name or key,
        which it reads only where that runs no code (``operators.inplace_attribute``)."""
        target = node.target
        if isinstance(node.value, _NEVER_LAZY) or not isinstance(node.op, _IN_PLACE_OPERATORS):
            return  # count += 1, out += [x]
        if isinstance(target, ast.Attribute | ast.Subscript) and not self.awaiting \
                and isinstance(target.value, ast.Name):
            self._inplace_part(node, target)
        if not isinstance(target, ast.Name):
            return
        current = ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
        if self.awaiting:
            node.value = ast.copy_location(
                ast.Await(value=_call("ainplace", [current, node.value], node.value)), node.value)
        else:
            node.value = _call("inplace", [current, node.value], node.value)

    @staticmethod
    def _inplace_part(node: ast.AugAssign, target: ast.Attribute | ast.Subscript) -> None:
        """``owner.name += r`` / ``owner[k] += r``: ``r`` through ``__xcs_inplace_attribute__``
        / ``__xcs_inplace_item__`` (``tracing.operators``), given ``owner`` (a variable,
        read again without effect) and the name or the key (a literal or a variable)."""
        if not isinstance(target.value, ast.Name):
            return
        owner = ast.copy_location(ast.Name(id=target.value.id, ctx=ast.Load()), target)
        part: ast.expr
        if isinstance(target, ast.Attribute):
            helper, part = "__xcs_inplace_attribute__", ast.Constant(target.attr)
        elif isinstance(target.slice, ast.Constant) or (
                isinstance(target.slice, ast.Call) and len(target.slice.args) == 1
                and isinstance(target.slice.args[0], ast.Name)
                and ast.unparse(target.slice.func) == "__xcs_rt__.key"):
            helper, part = "__xcs_inplace_item__", copy.deepcopy(target.slice)
        else:
            return
        function = ast.copy_location(ast.Name(id=helper, ctx=ast.Load()), node.value)
        node.value = ast.fix_missing_locations(ast.copy_location(ast.Call(
            func=function, args=[owner, ast.copy_location(part, node.value), node.value],
            keywords=[]), node.value))

    def _real_base(self, base: ast.expr) -> ast.expr:
        """A base of a class statement: Python takes the metaclass from its class."""
        if isinstance(base, ast.Starred):  # class C(*bases): each one real
            base.value = self._real_tree(base.value, "class bases")
            return base
        return self._real_object(base, "class base")

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        self.generic_visit(node)  # Python checks what is raised, and its cause, itself
        if node.exc is not None:
            node.exc = self._real_object(node.exc, "raise")
        if node.cause is not None:
            node.cause = self._real_object(node.cause, "raise ... from")
        return node


def unpacked(target: ast.expr, items: ast.expr) -> ast.expr:
    """A loop's ``items``, each its real object where the target unpacks it (``for a, b``):
    Python unpacks it itself, with its own ``cannot unpack`` error."""
    if not isinstance(target, ast.Tuple | ast.List):
        return items
    nested = any(isinstance(inner, ast.Tuple | ast.List) for inner in target.elts)
    return _call("unpacked", [items, _shape(target)] if nested else [items], items)


def _shape(target: ast.Tuple | ast.List) -> ast.expr:
    """Per position of ``target``: ``0``, ``"*"`` for a starred one, or an inner shape."""
    shape: list[ast.expr] = [
        ast.Constant("*") if isinstance(inner, ast.Starred)
        else _shape(inner) if isinstance(inner, ast.Tuple | ast.List) else ast.Constant(0)
        for inner in target.elts]
    return ast.copy_location(ast.Tuple(shape, ast.Load()), target)
