"""``case`` patterns matching what a class pattern reads: real values, not proxies.

The subject of a rewritten ``match`` is a real object, with the op results inside it
resolved (``runtime.observe_deep``). A class pattern then reads the attributes it
names itself, and a property may give back an op result kept elsewhere (``return
CACHE[self.key]``): a lazy value. A value, class or capture pattern treats it as its
value, but a sequence or mapping pattern decides by the type's flags, which a proxy
cannot give, and would fail silently. So each such sub-pattern ``P`` of a class pattern
becomes ``__xcs_rt__.LazyValue(P) | P``: the first alternative matches a lazy value by
the value behind it (``runtime.LazyValue``), the second anything else, as ``P`` did.
"""

from __future__ import annotations

import ast
import copy

__all__ = ["through_lazy"]

_BY_TYPE = (ast.MatchSequence, ast.MatchMapping)


def through_lazy(case: ast.match_case) -> ast.match_case:
    """``case`` with the sub-patterns of its class patterns that decide by type made to
    match a lazy value by its value too (see the module docstring)."""
    _Through().visit(case.pattern)
    return case


class _Through(ast.NodeTransformer):
    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        self.generic_visit(node)  # inner class patterns first: copied below as they are
        node.patterns = [_either(pattern) for pattern in node.patterns]
        node.kwd_patterns = [_either(pattern) for pattern in node.kwd_patterns]
        return node


def _either(pattern: ast.pattern) -> ast.pattern:
    if not any(isinstance(node, _BY_TYPE) for node in ast.walk(pattern)):
        return pattern
    name = ast.Attribute(ast.Name("__xcs_rt__", ast.Load()), "LazyValue", ast.Load())
    lazy = ast.MatchClass(ast.copy_location(name, pattern), [pattern], [], [])
    return ast.copy_location(
        ast.MatchOr([ast.copy_location(lazy, pattern), copy.deepcopy(pattern)]), pattern)
