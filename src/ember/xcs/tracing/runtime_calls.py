"""The nodes the rewriting puts into a syntax tree: calls of ``__xcs_rt__``'s helpers.

Rewritten code reaches ``tracing.runtime`` under the global name ``__xcs_rt__``
(``tracing.rewrite``); ``_call("observe", [x], node)`` builds ``__xcs_rt__.observe(x)``
at ``node``'s position, so that tracebacks still point at the user's code.
"""

from __future__ import annotations

import ast

__all__ = ["RT", "plain_call", "runtime_call"]

RT = "__xcs_rt__"


def _rt(attribute: str, node: ast.AST) -> ast.Attribute:
    return ast.copy_location(
        ast.Attribute(value=ast.copy_location(ast.Name(id=RT, ctx=ast.Load()), node),
                      attr=attribute, ctx=ast.Load()), node)


def runtime_call(attribute: str, args: list[ast.expr], node: ast.AST,
                 keywords: list[ast.keyword] | None = None) -> ast.Call:
    """``__xcs_rt__.attribute(*args, **keywords)``, placed where ``node`` is."""
    return ast.copy_location(ast.Call(func=_rt(attribute, node), args=args,
                                      keywords=keywords or []), node)


def plain_call(name: str, node: ast.AST) -> ast.Call:
    """``name()`` with no arguments (``globals()``, ``locals()``), placed where ``node`` is."""
    return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [], []), node)
