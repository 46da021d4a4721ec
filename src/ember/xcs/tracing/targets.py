"""Assignment targets, as the rewriting sees them: what a statement changes or binds.

A statement that changes an object in place (``state.notes[i] = v``, ``obj.x += 1``,
``del d[k]``) is preceded by ``changing(obj, path...)`` (``tracing.transform``); these
functions find the changed objects among a statement's targets, the path from a name
to each (walked by the runtime only when some op holds an object), the slot a store
replaces, and the globals a scope declares and binds.
"""

from __future__ import annotations

import ast
import copy

__all__ = ["bound_names", "cell_arguments", "changed_objects", "declared_globals", "path_of",
           "read_by_nested", "slot"]


def _unwrapped(index: ast.expr) -> ast.expr:
    """``index`` without the ``__xcs_rt__.key(...)`` the rewriting put around it."""
    if isinstance(index, ast.Call) and isinstance(index.func, ast.Attribute) \
            and index.func.attr == "key" and isinstance(index.func.value, ast.Name) \
            and index.func.value.id == "__xcs_rt__" and len(index.args) == 1:
        return index.args[0]
    return index


def slot(target: ast.Attribute | ast.Subscript) -> list[ast.keyword]:
    """``attr="name"`` or ``key=k`` for the slot a store to ``target`` replaces (a key
    only when it is a name or a literal, ``-1`` too: evaluating it twice changes nothing)."""
    if isinstance(target, ast.Attribute):
        value: ast.expr = ast.copy_location(ast.Constant(target.attr), target)
        return [ast.keyword(arg="attr", value=value)]
    index = _unwrapped(target.slice)
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub | ast.UAdd):
        index = index.operand
    if isinstance(index, ast.Name | ast.Constant):
        key = copy.deepcopy(target.slice)
        if isinstance(key, ast.Name):
            key.ctx = ast.Load()
        return [ast.keyword(arg="key", value=key)]
    return []


def _leaves(targets: list[ast.expr]) -> list[ast.expr]:
    """The single targets inside ``targets`` (tuples, lists and starred ones unpacked)."""
    found: list[ast.expr] = []
    todo = list(targets)
    while todo:
        target = todo.pop()
        if isinstance(target, ast.Tuple | ast.List):
            todo += target.elts
        elif isinstance(target, ast.Starred):
            todo.append(target.value)
        else:
            found.append(target)
    return found


def changed_objects(targets: list[ast.expr]) -> list[ast.Attribute | ast.Subscript]:
    """The targets whose object assigning to (or deleting) them changes in place, when
    it is reached from a name by attributes and indexes by names or literals."""
    return [target for target in _leaves(targets)
            if isinstance(target, ast.Attribute | ast.Subscript) and _repeatable(target.value)]


def bound_names(targets: list[ast.expr]) -> list[ast.Name]:
    """The names that assigning to (or deleting) ``targets`` binds."""
    return [target for target in _leaves(targets) if isinstance(target, ast.Name)]


def declared_globals(scope: ast.AST) -> frozenset[str]:
    """The names ``scope`` (a def, lambda or class) declares ``global`` in its own body."""
    names: set[str] = set()
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Global):
            names.update(node.names)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                            | ast.Lambda):
            todo += ast.iter_child_nodes(node)
    return frozenset(names)


def path_of(node: ast.expr) -> list[ast.expr]:
    """``state.notes[i]`` as the arguments ``state, "notes", "[]", i``: the runtime walks
    the path only when some op holds an object (``runtime.changing``)."""
    steps: list[ast.expr] = []
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Attribute):
            steps.append(ast.copy_location(ast.Constant(node.attr), node))
            node = node.value
        else:
            assert isinstance(node, ast.Subscript), "_repeatable allows nothing else"
            steps += [copy.deepcopy(node.slice), ast.copy_location(ast.Constant("[]"), node)]
            node = node.value
    root = ast.copy_location(ast.Name(id=node.id, ctx=ast.Load()), node)
    return [root, *reversed(steps)]


def _repeatable(node: ast.expr) -> bool:
    while True:
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, ast.Attribute) or (
                isinstance(node, ast.Subscript)
                and isinstance(_unwrapped(node.slice), ast.Name | ast.Constant)):
            node = node.value
        else:
            return False


def read_by_nested(scope: ast.AST) -> frozenset[str]:
    """The names functions nested in ``scope`` load or declare ``nonlocal`` (a superset
    of the variables of ``scope`` they read through closure cells), and the names
    ``scope`` itself declares ``nonlocal``."""
    names: set[str] = set()
    todo = [(child, False) for child in ast.iter_child_nodes(scope)]
    while todo:
        node, nested = todo.pop()
        if isinstance(node, ast.Nonlocal):
            names.update(node.names)
        elif nested and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        inner = nested or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        todo += [(child, inner) for child in ast.iter_child_nodes(node)]
    return frozenset(names)


def cell_arguments(target: ast.Name) -> list[ast.expr]:
    """What ``bound_cell`` is given for a store to ``target``: its name, and
    ``lambda: name``, whose closure is the variable's cell (what the cell held is noted)."""
    name = ast.copy_location(ast.Constant(target.id), target)
    body = ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
    empty = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return [name, ast.copy_location(ast.Lambda(args=empty, body=body), target)]
