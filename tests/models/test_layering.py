"""The models layer uses only public ``ember.xcs`` names and never the facade above it.

One documented exception: ``ember.xcs.tracing.context``'s ``settle_earlier`` and
``asettle_earlier``, through which a stream of a capped provider lets the ops issued
before it take their slots first under ``@jit``.
"""

from pathlib import Path

import ember.models
from tests.layering import imports_of, offences_in

PACKAGE = Path(ember.models.__file__).parent
LIBRARY_HOOK = frozenset({"settle_earlier", "asettle_earlier"})


def test_models_imports_only_public_xcs_names():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 15
    offences = [offence for path in modules for offence in offences_in(path, PACKAGE, LIBRARY_HOOK)]
    assert offences == []


def test_the_scan_recognises_an_internal_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ember.xcs.ops import Op\nfrom ember.xcs import jit\n")
    assert list(imports_of(sample)) == [(1, "ember.xcs.ops", "Op"), (2, "ember.xcs", "jit")]
    assert offences_in(sample, tmp_path) == ["sample.py:1 imports xcs internals: ember.xcs.ops"]
