"""The ``ember.api.xcs`` facade re-exports every public name of ``ember.xcs``."""

from __future__ import annotations

import ember.api.xcs as facade
import ember.xcs as xcs


def test_facade_re_exports_everything_public():
    assert sorted(facade.__all__) == sorted(xcs.__all__)
    for name in xcs.__all__:
        assert getattr(facade, name) is getattr(xcs, name), name


def test_facade_has_the_transforms():
    from ember.api.xcs import DeviceMesh, PartitionSpec, mesh_sharded, pmap, scan, vmap  # noqa: F401

    assert vmap(str.upper)(["a"]) == ["A"]
