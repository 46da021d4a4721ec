"""The package's shape: no import circles between modules, modules of a readable size.

The imports between modules of ``src/ember`` form a graph; it must have no cycle, so
that every module can be read, imported and tested on top of the ones below it. Two
graphs are checked: the imports a module makes when it is loaded, and every import it
names anywhere (inside functions and under ``TYPE_CHECKING`` too), since a deferred or
type-only import is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
LINE_LIMIT = 400  # STYLE.md: "most modules under ~400 lines"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "ember").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path], *,
             everywhere: bool = False) -> set[str]:
    """The ember modules ``name`` imports at load time (``everywhere``: in any place)."""

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rsplit(".", 1)[0] if "." in dotted else ""
        return dotted or None

    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                    and node.test.id == "TYPE_CHECKING" and not everywhere:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rsplit(".", 1)[0]
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(node.orelse)
                continue
            else:
                continue
            for target in targets:
                module = resolve(target)
                if module is not None and module.startswith("ember"):
                    found.add(module)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    if everywhere:
        visit([node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)])
    else:
        visit(tree.body)
    found.discard(name)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_circle_between_modules() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_circle_counting_deferred_and_type_only_imports() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules, everywhere=True)
             for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_deferred_and_type_only_imports_are_counted(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from ember.b import B\n"
                      "def f():\n    from . import c\n", encoding="utf-8")
    modules = {"ember.a.m": source, "ember.b": source, "ember.a.c": source}
    assert _imports("ember.a.m", source, modules) == set()
    assert _imports("ember.a.m", source, modules, everywhere=True) == {"ember.b", "ember.a.c"}


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_readable() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in _modules().items()}
    too_long = {name: lines for name, lines in sizes.items() if lines > LINE_LIMIT}
    assert not too_long, f"split these by concept (STYLE.md 3): {too_long}"
