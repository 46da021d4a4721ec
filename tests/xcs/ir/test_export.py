"""graph.save(): Graphviz images when `dot` exists, text formats always, clear errors."""

from __future__ import annotations

import os
import shutil

import pytest

from ember.xcs import XCSError, autograph, op


@op
def inc(x):
    return x + 1


def _recording():
    with autograph() as recording:
        a = inc(1)
        b = inc(a)  # noqa: F841 - read back by name
    return recording


def test_text_formats_need_no_graphviz(tmp_path):
    recording = _recording()
    recording.save(tmp_path / "g.dot")
    recording.graph.save(tmp_path / "g.mmd")
    assert (tmp_path / "g.dot").read_text() == recording.to_dot() + "\n"
    assert (tmp_path / "g.mmd").read_text().startswith("flowchart TD")


def test_unknown_extension_is_an_error(tmp_path):
    with pytest.raises(XCSError, match=r"\.svg"):
        _recording().save(tmp_path / "g.jpeg")


def test_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(XCSError, match="apt-get install graphviz"):
        _recording().save(tmp_path / "g.svg")


def test_images_with_graphviz(tmp_path):
    if shutil.which("dot") is None:
        message = "Graphviz `dot` is not installed: apt-get install graphviz (CI installs it)"
        if os.environ.get("EMBER_XCS_REQUIRE_GRAPHVIZ"):
            pytest.fail(message + "; EMBER_XCS_REQUIRE_GRAPHVIZ forbids skipping")
        pytest.skip(message)
    recording = _recording()
    recording.save(tmp_path / "g.svg")
    recording.graph.save(tmp_path / "g.png")
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "b = inc(a)" in svg
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
