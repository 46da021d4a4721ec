"""The operators layer uses only public ``ember.xcs`` names and never the facade above it.

One documented exception: ``ember.xcs.tracing.context``, the hook through which
library code runs user code the way the current trace runs it (``glue`` for a
function, ``call`` for one call of a callable the user handed it) or asks whether a
trace is active (``current_trace``).
"""

from pathlib import Path

import ember.operators
from tests.layering import offences_in

PACKAGE = Path(ember.operators.__file__).parent
LIBRARY_HOOK = frozenset({"glue", "call", "current_trace"})


def test_operators_import_only_public_xcs_names():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 8
    offences = [offence for path in modules for offence in offences_in(path, PACKAGE, LIBRARY_HOOK)]
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
    assert offences_in(sample, tmp_path, LIBRARY_HOOK) == [
        "sample.py:1 imports xcs internals: ember.xcs.ops",
        "sample.py:2 imports non-public ember.xcs.Lazy",
        "sample.py:3 imports the facade ember.api.models",
        "sample.py:6 uses context.swap",
    ]
