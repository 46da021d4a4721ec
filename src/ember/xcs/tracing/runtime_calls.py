"""The nodes the rewriting puts into a syntax tree: calls of ``__xcs_rt__``'s helpers.

Rewritten code reaches ``tracing.runtime`` under the global name ``__xcs_rt__``
(``tracing.rewrite``); ``_call("observe", [x], node)`` builds ``__xcs_rt__.observe(x)``
at ``node``'s position, so that tracebacks still point at the user's code.
"""

from __future__ import annotations

import ast

__all__ = ["KEYWORD_PARTS", "RT", "keyword_parts", "plain_call", "runtime_call"]

RT = "__xcs_rt__"
KEYWORD_PARTS = "ember_xcs_keyword_parts"  # the one keyword of a rewritten f(k=v, **m)


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


def keyword_parts(keywords: list[ast.keyword], node: ast.AST) -> list[ast.keyword]:
    """``f(k=v, **m)``'s keywords as one, ``ember_xcs_keyword_parts=({"k": v},
    splat_mapping(m))``, evaluated in the same order: the runtime merges them, so that a
    key given twice raises plain Python's error naming ``f``, not ``prep_unpacked``."""
    parts: list[ast.expr] = [
        runtime_call("splat_mapping", [k.value], k.value) if k.arg is None else
        ast.copy_location(ast.Dict(keys=[ast.copy_location(ast.Constant(k.arg), k)],
                                   values=[k.value]), k)
        for k in keywords]
    return [ast.copy_location(ast.keyword(arg=KEYWORD_PARTS, value=ast.copy_location(
        ast.Tuple(elts=parts, ctx=ast.Load()), node)), node)]
