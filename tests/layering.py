"""Scanning a package's imports for the layering tests (models, operators): each layer
above ``ember.xcs`` uses only its public names and never the ``ember.api`` facade."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import ember.xcs


def imports_of(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """``(line, module, name)`` of each absolute import (``name`` is None for ``import x``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def hook_uses(path: Path) -> Iterator[tuple[int, str]]:
    """The attributes read from the name ``context`` (the library hook's module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "context":
            yield node.lineno, node.attr


def offences_in(path: Path, root: Path, hook: frozenset[str] = frozenset()) -> list[str]:
    """What ``path`` imports that its layer may not; ``hook``: the attributes of
    ``ember.xcs.tracing.context`` the layer may use (none: the module is off limits)."""
    found = []
    for line, module, name in imports_of(path):
        where = f"{path.relative_to(root)}:{line}"
        if module.startswith("ember.api"):
            found.append(f"{where} imports the facade {module}")
        elif hook and module == "ember.xcs.tracing" and name == "context":
            found.extend(f"{path.relative_to(root)}:{use_line} uses context.{attr}"
                         for use_line, attr in hook_uses(path) if attr not in hook)
        elif module.startswith("ember.xcs"):
            if module != "ember.xcs" or name is None:
                found.append(f"{where} imports xcs internals: {module}")
            elif name not in ember.xcs.__all__:
                found.append(f"{where} imports non-public ember.xcs.{name}")
    return found
