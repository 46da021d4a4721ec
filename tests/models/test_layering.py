"""The models layer uses only public ``ember.xcs`` names and never the facade above it."""

from pathlib import Path

import ember.models
from tests.layering import imports_of, offences_in

PACKAGE = Path(ember.models.__file__).parent


def test_models_imports_only_public_xcs_names():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 15
    offences = [offence for path in modules for offence in offences_in(path, PACKAGE)]
    assert offences == []


def test_the_scan_recognises_an_internal_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ember.xcs.ops import Op\nfrom ember.xcs import jit\n")
    assert list(imports_of(sample)) == [(1, "ember.xcs.ops", "Op"), (2, "ember.xcs", "jit")]
    assert offences_in(sample, tmp_path) == ["sample.py:1 imports xcs internals: ember.xcs.ops"]
