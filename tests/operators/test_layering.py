"""The operators layer uses only public ``ember.xcs`` names and never the facade above it.

One documented exception: ``ember.xcs.tracing.context``, the hook through which
library code runs user code the way the current trace runs it (``glue``) or asks
whether a trace is active (``current_trace``).
"""

import ast
from pathlib import Path

import ember.operators
import ember.xcs

PACKAGE = Path(ember.operators.__file__).parent
LIBRARY_HOOK = {"glue", "current_trace"}


def imports_of(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def hook_uses(path):
    """The attributes read from the name ``context`` (the library hook's module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "context":
            yield node.lineno, node.attr


def offences_in(path, root):
    found = []
    for line, module, name in imports_of(path):
        where = f"{path.relative_to(root)}:{line}"
        if module.startswith("ember.api"):
            found.append(f"{where} imports the facade {module}")
        elif module == "ember.xcs.tracing" and name == "context":
            found.extend(f"{path.relative_to(root)}:{use_line} uses context.{attr}"
                         for use_line, attr in hook_uses(path) if attr not in LIBRARY_HOOK)
        elif module.startswith("ember.xcs"):
            if module != "ember.xcs" or name is None:
                found.append(f"{where} imports xcs internals: {module}")
            elif name not in ember.xcs.__all__:
                found.append(f"{where} imports non-public ember.xcs.{name}")
    return found


def test_operators_import_only_public_xcs_names():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 8
    offences = [offence for path in modules for offence in offences_in(path, PACKAGE)]
    assert offences == []


def test_the_scan_recognises_every_kind_of_offence(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from ember.xcs.ops import Op\n"
        "from ember.xcs import jit, Lazy\n"
        "from ember.api.models import models\n"
        "from ember.xcs.tracing import context\n"
        "context.glue(f)\n"
        "context.swap(None)\n"
    )
    assert offences_in(sample, tmp_path) == [
        "sample.py:1 imports xcs internals: ember.xcs.ops",
        "sample.py:2 imports non-public ember.xcs.Lazy",
        "sample.py:3 imports the facade ember.api.models",
        "sample.py:6 uses context.swap",
    ]
