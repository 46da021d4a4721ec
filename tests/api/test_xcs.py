"""The ``ember.api.xcs`` facade re-exports every public name of ``ember.xcs``, and
pyember's option types, which its docs import from there."""

from __future__ import annotations

import ember.api.xcs as facade
import ember.xcs as xcs


def test_facade_re_exports_everything_public():
    assert sorted(facade.__all__) == sorted([*xcs.__all__, "JITOptions", "XCSExecutionOptions"])
    for name in xcs.__all__:
        assert getattr(facade, name) is getattr(xcs, name), name
    from ember.xcs.compat import JITOptions, XCSExecutionOptions

    assert (facade.JITOptions, facade.XCSExecutionOptions) == (JITOptions, XCSExecutionOptions)


def test_facade_has_the_transforms():
    from ember.api.xcs import DeviceMesh, PartitionSpec, mesh_sharded, pmap, scan, vmap  # noqa: F401

    assert vmap(str.upper)(["a"]) == ["A"]
