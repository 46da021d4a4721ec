"""The models layer uses only public ``ember.xcs`` names and never the facade above it."""

import ast
from pathlib import Path

import ember.models
import ember.xcs

PACKAGE = Path(ember.models.__file__).parent


def imports_of(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def test_models_imports_only_public_xcs_names():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 15
    offences = []
    for path in modules:
        for line, module, name in imports_of(path):
            where = f"{path.relative_to(PACKAGE)}:{line}"
            if module.startswith("ember.api"):
                offences.append(f"{where} imports the facade {module}")
            elif module.startswith("ember.xcs"):
                if module != "ember.xcs" or name is None:
                    offences.append(f"{where} imports xcs internals: {module}")
                elif name not in ember.xcs.__all__:
                    offences.append(f"{where} imports non-public ember.xcs.{name}")
    assert offences == []


def test_the_scan_recognises_an_internal_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ember.xcs.ops import Op\nfrom ember.xcs import jit\n")
    assert list(imports_of(sample)) == [(1, "ember.xcs.ops", "Op"), (2, "ember.xcs", "jit")]
