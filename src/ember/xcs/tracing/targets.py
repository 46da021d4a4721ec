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

from ember.xcs.tracing.runtime_calls import runtime_call

__all__ = ["bound_names", "cell_arguments", "changed_objects", "declared_globals",
           "loop_stores", "path_of", "read_by_nested", "slot", "statement_targets"]


def _unwrapped(index: ast.expr) -> ast.expr:
    """``index`` without the ``__xcs_rt__.key(...)`` the rewriting put around it."""
    if isinstance(index, ast.Call) and isinstance(index.func, ast.Attribute) \
            and index.func.attr == "key" and isinstance(index.func.value, ast.Name) \
            and index.func.value.id == "__xcs_rt__" and len(index.args) == 1:
        return index.args[0]
    return index


def slot(target: ast.Attribute | ast.Subscript) -> list[ast.keyword]:
    """``attr="name"`` or ``key=k`` for the slot a store to ``target`` replaces (a key
    only when it is a name or a literal, ``-1`` too, or a tuple of those,
    ``cache[topic, lang]``: evaluating it twice changes nothing)."""
    if isinstance(target, ast.Attribute):
        value: ast.expr = ast.copy_location(ast.Constant(target.attr), target)
        return [ast.keyword(arg="attr", value=value)]
    if _repeatable_key(_unwrapped(target.slice)):
        key = copy.deepcopy(target.slice)
        if isinstance(key, ast.Name):
            key.ctx = ast.Load()
        return [ast.keyword(arg="key", value=key)]
    return []


def _repeatable_key(index: ast.expr, depth: int = 2) -> bool:
    """Whether evaluating ``index`` again gives the same key and changes nothing."""
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub | ast.UAdd):
        index = index.operand
    if isinstance(index, ast.Name | ast.Constant):
        return True
    return isinstance(index, ast.Tuple) and depth > 0 and bool(index.elts) \
        and all(_repeatable_key(_unwrapped(item), depth - 1) for item in index.elts)


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
        if _is_globals(node):  # globals()["MODE"] = "b": calling it again changes nothing
            return [copy.deepcopy(node), *reversed(steps)]
        if isinstance(node, ast.Attribute):
            steps.append(ast.copy_location(ast.Constant(node.attr), node))
            node = _unobserved(node.value)
        else:
            assert isinstance(node, ast.Subscript), "_repeatable allows nothing else"
            steps += [copy.deepcopy(node.slice), ast.copy_location(ast.Constant("[]"), node)]
            node = node.value
    root = ast.copy_location(ast.Name(id=node.id, ctx=ast.Load()), node)
    return [root, *reversed(steps)]


def _repeatable(node: ast.expr) -> bool:
    while True:
        if isinstance(node, ast.Name) or _is_globals(node):
            return True
        if isinstance(node, ast.Attribute):
            node = _unobserved(node.value)
        elif isinstance(node, ast.Subscript) \
                and isinstance(_unwrapped(node.slice), ast.Name | ast.Constant):
            node = node.value
        else:
            return False


def _unobserved(node: ast.expr) -> ast.expr:
    """``x`` for the ``__xcs_rt__.observe(x, ...)`` the rewriting put around the object
    of a special attribute (``mod.__dict__["MODE"] = v``), else ``node``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "observe" and isinstance(node.func.value, ast.Name) \
            and node.func.value.id == "__xcs_rt__" and node.args:
        return node.args[0]
    return node


def _is_globals(node: ast.expr) -> bool:
    """Whether ``node`` is ``globals()``, or ``vars(name)`` as rewritten
    (``__xcs_rt__.prep(vars, name)()``): a namespace, the same when evaluated again."""
    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    if isinstance(node.func, ast.Name):
        return node.func.id == "globals"
    prepared = node.func
    return isinstance(prepared, ast.Call) and isinstance(prepared.func, ast.Attribute) \
        and prepared.func.attr == "prep" and isinstance(prepared.func.value, ast.Name) \
        and prepared.func.value.id == "__xcs_rt__" and len(prepared.args) == 2 \
        and isinstance(prepared.args[0], ast.Name) and prepared.args[0].id == "vars" \
        and isinstance(prepared.args[1], ast.Name) and not prepared.keywords


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


def loop_stores(target: ast.expr) -> ast.Lambda | None:
    """``lambda: (changing(state, attr="cur"), ...)`` for the objects a ``for`` loop's
    target changes in place on each turn (``for state.cur in items:``), else ``None``."""
    checks: list[ast.expr] = [runtime_call("changing", path_of(changed.value), changed,
                                           slot(changed))
                              for changed in changed_objects([target])]
    if not checks:
        return None
    empty = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.copy_location(ast.Lambda(args=empty, body=ast.copy_location(
        ast.Tuple(checks, ast.Load()), target)), target)


def statement_targets(node: ast.stmt) -> list[ast.expr]:
    """What ``node`` binds other than by assigning: the targets of ``with ... as``, the
    names of ``except ... as`` (and the ``del`` ending the handler), ``match`` captures,
    imported names, the name a ``def`` or ``class`` binds. The rewriting checks them
    before the statement (``_binds``)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [_name(node.name, node)]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [item.optional_vars for item in node.items if item.optional_vars is not None]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [_name(alias.asname or alias.name.partition(".")[0], node)
                for alias in node.names if alias.name != "*"]
    if isinstance(node, ast.Try | ast.TryStar):
        return [_name(handler.name, handler) for handler in node.handlers if handler.name]
    if isinstance(node, ast.Match):
        names: list[ast.expr] = []
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                captured = pattern.rest if isinstance(pattern, ast.MatchMapping) \
                    else pattern.name if isinstance(pattern, ast.MatchAs | ast.MatchStar) \
                    else None
                if captured is not None:
                    names.append(_name(captured, pattern))
        return names
    return []


def _name(identifier: str, where: ast.AST) -> ast.Name:
    return ast.copy_location(ast.Name(id=identifier, ctx=ast.Store()), where)
