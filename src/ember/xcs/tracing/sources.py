"""Finding the source of a running function, and checking that it is what runs.

The rewriter compiles a function again from its source (``tracing.rewrite``). Which
``def`` or lambda of a module is the function is told by its name, first line and
signature (and for lambdas on one line, the columns of their code); and the source
is used only when, compiled as it is, it gives the instructions that run (a file
edited since import, or code changed by an import hook, gives others). Read off the
source too: the lines where ops run at their call (``eager_lines_by_function``).
"""

from __future__ import annotations

import ast
import dis
import types
from typing import Any

from ember.xcs.tracing.frames import CallMode

__all__ = ["Scope", "arg_count", "eager_lines_by_function", "find_scope", "find_scopes",
           "first_column", "first_line", "same_code", "signature_matches"]


Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def first_line(node: Scope) -> int:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return int(decorators[0].lineno)
    return node.lineno


def find_scope(module: ast.Module, code: types.CodeType) -> tuple[Scope, list[str]] | None:
    """The def or lambda node of ``code`` and the names of the classes around it: the
    likeliest of ``find_scopes`` (``None`` if there is none)."""
    found = find_scopes(module, code)
    return found[0] if found else None


def find_scopes(module: ast.Module, code: types.CodeType) -> list[tuple[Scope, list[str]]]:
    """The def or lambda nodes that may be ``code``, each with the names of the classes
    around it, the likeliest first: one, but for lambdas nested on one line
    (``lambda: jit(lambda q: ask(q))``), innermost first. Whether a node is the code is
    settled by compiling it (``same_code``).

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
        spans = _spans(code)
        matches = sorted((m for m in matches if _holds(m[0], spans)), key=_innermost_first)
    return matches


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


def _spans(code: types.CodeType) -> list[tuple[int, int, int, int]]:
    """The source spans of ``code``'s own instructions (not of code nested in it), left
    out those of no width (``RESUME`` at the start of the line)."""
    return [(line, column, end_line, end_column)
            for line, end_line, column, end_column in code.co_positions()
            if line is not None and end_line is not None and column is not None
            and end_column is not None and (line, column) != (end_line, end_column)]


def _holds(node: Scope, spans: list[tuple[int, int, int, int]]) -> bool:
    """Whether every span of a lambda's code lies within lambda ``node``."""
    start, end = (node.lineno, node.col_offset), (node.end_lineno or 0, node.end_col_offset or 0)
    return all(start <= (line, column) and (end_line, end_column) <= end
               for line, column, end_line, end_column in spans)


def _innermost_first(match: tuple[Scope, list[str]]) -> tuple[int, int, int, int]:
    node = match[0]
    return (-node.lineno, -node.col_offset, node.end_lineno or 0, node.end_col_offset or 0)


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


def eager_lines_by_function(root: Scope) -> dict[tuple[str, int], dict[int, CallMode]]:
    """For each function in ``root``: the lines where ops run at their call, and why.

    The lines of its own ``try``/``with`` statements, so that ``except`` sees an op's
    error; and those of its ``case`` patterns, which read attributes and items at once
    (a property of the subject's class may call an op) and match a sequence or mapping
    pattern by the type of what they read, which a lazy value cannot give.
    """
    result: dict[tuple[str, int], dict[int, CallMode]] = {}
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

    def collect(scope: Scope) -> None:
        lines: dict[int, CallMode] = {}

        def mark(span: ast.stmt | ast.pattern, mode: CallMode) -> None:
            for line in range(span.lineno, (span.end_lineno or span.lineno) + 1):
                lines.setdefault(line, mode)  # the outer statement's reason first

        def walk(node: ast.AST) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, scopes):
                    collect(child)
                    continue
                if isinstance(child, ast.Try | ast.TryStar | ast.With | ast.AsyncWith):
                    mark(child, CallMode.TRY)
                elif isinstance(child, ast.match_case):
                    mark(child.pattern, CallMode.MATCH)
                walk(child)

        walk(scope)
        name = "<lambda>" if isinstance(scope, ast.Lambda) else scope.name
        result[(name, first_line(scope))] = lines

    collect(root)
    return result
