"""The nodes the rewriting puts into a syntax tree: calls of ``__xcs_rt__``'s helpers.

Rewritten code reaches ``tracing.runtime`` under the global name ``__xcs_rt__``
(``tracing.rewrite``); ``_call("observe", [x], node)`` builds ``__xcs_rt__.observe(x)``
at ``node``'s position, so that tracebacks still point at the user's code.
"""

from __future__ import annotations

import ast

__all__ = ["RT", "keyword_chain", "plain_call", "runtime_call"]

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


def keyword_chain(func: ast.expr, args: list[ast.expr], keywords: list[ast.keyword],
                  node: ast.AST) -> ast.expr:
    """``f(a, k=v, **m, j=w)`` as ``keywords(f, a)({"k": v})(splat_mapping(m))({"j": w})``
    (see ``unpacking.Keywords``): evaluated in CPython's order, each part merged as it
    comes, so that a keyword given twice or a ``**`` value that is not a mapping raises
    plain Python's error, naming ``f``, before the later keywords are evaluated
    (CPython's ``DICT_MERGE`` raises there). Keywords written one after another share one
    dict, as CPython builds one map of them (a name cannot repeat there: a syntax error)."""
    parts: list[ast.expr] = []
    for k in keywords:
        if k.arg is None:
            parts.append(runtime_call("splat_mapping", [k.value], k.value))
            continue
        key = ast.copy_location(ast.Constant(k.arg), k)
        last = parts[-1] if parts else None
        if isinstance(last, ast.Dict):
            last.keys.append(key)
            last.values.append(k.value)
        else:
            parts.append(ast.copy_location(ast.Dict(keys=[key], values=[k.value]), k))
    chain: ast.expr = runtime_call("keywords", [func, *args], node)
    for part in parts:
        chain = ast.copy_location(ast.Call(func=chain, args=[part], keywords=[]), part)
    return chain
