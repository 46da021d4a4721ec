"""Finding the source of a running function, and checking that it is what runs.

The rewriter compiles a function again from its source (``tracing.rewrite``). Which
``def`` or lambda of a module is the function is told by its name, first line and
signature (and for lambdas on one line, the columns of their code); and the source
is used only when, compiled as it is, it gives the instructions that run (a file
edited since import, or code changed by an import hook, gives others).
"""

from __future__ import annotations

import ast
import dis
import types
from typing import Any

__all__ = ["Scope", "arg_count", "find_scope", "first_column", "first_line", "same_code",
           "signature_matches"]


Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def first_line(node: Scope) -> int:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return int(decorators[0].lineno)
    return node.lineno


def find_scope(module: ast.Module, code: types.CodeType) -> tuple[Scope, list[str]] | None:
    """The def or lambda node of ``code`` and the names of the classes around it.

    The module's scopes are indexed by name and first line once per parsed tree (kept
    on it), so the first calls of many functions of one big module walk it once."""
    index: dict[tuple[str, int], list[tuple[Scope, list[str]]]] | None = \
        getattr(module, "_xcs_scopes", None)
    if index is None:
        index = {}
        _index_scopes(module, [], index)
        module._xcs_scopes = index  # type: ignore[attr-defined]  # (two threads: the same)
    matches = index.get((code.co_name, code.co_firstlineno), [])
    if len(matches) > 1 and code.co_name == "<lambda>":
        matches = [m for m in matches if _lambda_matches(m[0], code)]
    return matches[0] if len(matches) == 1 else None


def _index_scopes(node: ast.AST, classes: list[str],
                  index: dict[tuple[str, int], list[tuple[Scope, list[str]]]]) -> None:
    """Add the defs and lambdas under ``node`` to ``index``, in source order, by name
    (``"<lambda>"``) and first line (a def's first decorator's)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            index.setdefault((child.name, first_line(child)), []).append((child, classes))
            _index_scopes(child, [], index)
        elif isinstance(child, ast.Lambda):
            index.setdefault(("<lambda>", child.lineno), []).append((child, classes))
            _index_scopes(child, [], index)
        elif isinstance(child, ast.ClassDef):
            _index_scopes(child, [*classes, child.name], index)
        else:
            _index_scopes(child, classes, index)


def _lambda_matches(node: Scope, code: types.CodeType) -> bool:
    """Whether a lambda node spans the columns of ``code``'s first real instruction."""
    for line, end_line, column, _ in code.co_positions():
        if line is None or column is None or line != node.lineno:
            continue
        start, end = node.col_offset, node.end_col_offset
        if end_line == node.end_lineno and start <= column <= (end or column):
            return True
    return False


def signature_matches(node: Scope, code: types.CodeType) -> bool:
    args: ast.arguments = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if args.vararg is not None:
        names.append(args.vararg.arg)
    if args.kwarg is not None:
        names.append(args.kwarg.arg)
    return names == list(code.co_varnames[:arg_count(code)])


def same_code(compiled: types.CodeType, code: types.CodeType) -> bool:
    """Whether ``compiled`` (from the source) is ``code`` (what runs): the same
    instructions on the same names and constants, nested code included.

    Jump offsets and the method-call form of an attribute load are left aside: they
    depend on the module around the function (CPython loads a method of an imported
    module as an attribute), which the rewriter does not compile.
    """
    if (compiled.co_names != code.co_names or compiled.co_varnames != code.co_varnames
            or len(compiled.co_consts) != len(code.co_consts)):
        return False
    if _instructions(compiled) != _instructions(code):
        return False
    for mine, theirs in zip(compiled.co_consts, code.co_consts, strict=True):
        if isinstance(mine, types.CodeType):
            if not isinstance(theirs, types.CodeType) or not same_code(mine, theirs):
                return False
        elif type(mine) is not type(theirs) or mine != theirs:
            return False
    return True


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
# Not part of what the code does: a method-call marker (see above), and the prefix
# that widens an argument, present or not with a jump's distance.
_LAYOUT = frozenset({"PUSH_NULL", "EXTENDED_ARG"})


def _instructions(code: types.CodeType) -> list[tuple[str, Any]]:
    return [("LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname,
             None if i.opcode in _JUMPS or isinstance(i.argval, types.CodeType) else i.argval)
            for i in dis.get_instructions(code) if i.opname not in _LAYOUT]


def arg_count(code: types.CodeType) -> int:
    return code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) \
        + bool(code.co_flags & 0x08)


def first_column(code: types.CodeType) -> tuple[int, int] | None:
    """Where ``code``'s first instruction after its prologue (at column 0) comes from."""
    for line, _, column, _ in code.co_positions():
        if line is not None and column:
            return line, column
    return None
