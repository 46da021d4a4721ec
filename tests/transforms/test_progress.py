"""Config(progress=True): a tqdm bar for vmap/pmap batches, off by default."""

from __future__ import annotations

import pytest

from ember.xcs import Config, XCSError, pmap, vmap
from ember.xcs.transforms.progress import ProgressHook, progress_config


def test_progress_bar_counts_every_item(capsys):
    assert vmap(str.upper, config=Config(progress=True))(["a", "b", "c", "d"]) == list("ABCD")
    err = capsys.readouterr().err
    assert "4/4" in err
    assert "vmap(upper)" in err


def test_pmap_progress_and_default_off(capsys):
    pmap(str.upper)(["a", "b"])
    assert capsys.readouterr().err == ""
    pmap(str.upper, config=Config(progress=True))(["a", "b"])
    assert "2/2" in capsys.readouterr().err


def test_hook_advances_on_end_and_error():
    class Bar:
        count = 0

        def update(self, n):
            self.count += n

    bar = Bar()
    hook = ProgressHook(bar)
    hook.on_node_end(None)
    hook.on_node_error(None)
    assert bar.count == 2


def test_missing_tqdm_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    with pytest.raises(XCSError, match=r"ember-xcs\[progress\]"):
        with progress_config(Config(progress=True), 1, "x"):
            pass
