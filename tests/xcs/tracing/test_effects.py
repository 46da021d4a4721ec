"""What a code object rebinds, changes in place and reads from outside, on each version."""

from __future__ import annotations

import numpy as np

from ember.xcs.tracing.effects import code_effects

SHARED: list = []


def _changes(fn) -> list[str]:
    return [change.what for change in code_effects(fn.__code__).changes]


def test_objects_built_in_the_code_change_freely():
    def build(x, k):
        out = []
        table = {"first": x}
        out.append(x)
        table[k] = x
        table["fixed"] = x
        return out, table

    assert _changes(build) == []


def test_changes_of_outside_objects_and_parameters_are_found():
    def change(x, params):
        SHARED.append(x)
        params["w"] = x
        x.scale = 2
        x += 1
        return x

    changes = _changes(change)
    assert "calls SHARED.append()" in changes
    assert "stores an item into params" in changes
    assert "sets attribute scale of x" in changes
    assert "x += ..." in changes


def test_an_alias_of_a_parameter_is_not_built_here():
    def alias(params, flag):
        out = params if flag else []
        out.append(1)
        return out

    assert _changes(alias) == ["calls out.append()"]


def test_jax_updates_change_nothing():
    def update(x):
        return x.at[0].add(1.0).at[1].set(2.0)

    assert _changes(update) == []


def test_global_and_nonlocal_rebinds():
    count = 0

    def rebind():
        global SHARED
        nonlocal count
        SHARED = []
        count += 1

    kinds = [(kind, name) for kind, name, line in code_effects(rebind.__code__).rebinds]
    assert kinds == [("global", "SHARED"), ("nonlocal", "count")]


def test_reads_name_chains_and_imports_in_the_body():
    def reads(x):
        from time import time as clock

        import numpy.random as npr

        return np.random.normal() + npr.normal() + clock() + x

    chains = {(names, scope) for names, scope, line in code_effects(reads.__code__).reads}
    assert (("np", "random", "normal"), "global") in chains
    assert (("numpy", "random", "normal"), "import") in chains
    assert (("time", "time"), "import") in chains


def test_nested_code_is_read_and_its_own_cells_are_local():
    def outer(xs):
        total = []

        def add(x):
            total.append(x)  # the enclosing call's own list: not from outside
            SHARED.append(x)

        return [add(x) for x in xs]

    effects = code_effects(outer.__code__)
    assert [names for names, scope, line in effects.reads if scope == "closure"] == []
    assert "calls SHARED.append()" in [change.what for change in effects.changes]
