"""The examples in the public modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "ember.xcs.config",
    "ember.xcs.checks",
    "ember.xcs.errors",
    "ember.xcs.api.stats",
    "ember.xcs.hooks",
    "ember.xcs.graphs.options",
    "ember.xcs.cache",
    "ember.xcs.cache.keys",
    "ember.xcs.cache.store",
    "ember.xcs.cache.scope",
    "ember.xcs.cache.counters",
    "ember.xcs.policies",
    "ember.xcs.telemetry",
    "ember.xcs.timeline",
    "ember.xcs.display",
    "ember.xcs.interop",
    "ember.xcs.ops",
    "ember.xcs.api.jit",
    "ember.xcs.api.explain",
    "ember.xcs.api.explanation",
    "ember.xcs.api.views",
    "ember.xcs.analysis.dependencies",
    "ember.xcs.analysis.paths",
    "ember.xcs.analysis.report",
    "ember.xcs.analysis.marks",
    "ember.xcs.analysis.operations",
    "ember.xcs.compat.structural",
    "ember.xcs.transforms.leaves",
    "ember.xcs.tree.walk",
    "ember.xcs.tree.snapshots",
    "ember.testing._wire",
    "ember.xcs.compat.xcsapi",
    "ember.operators.base",
    "ember.operators.blocks",
    "ember.operators.function",
    "ember.operators.model_calls",
    "ember.operators.routing",
    "ember.non",
    "ember.non.graph",
    "ember.non.notation",
    "ember.api",
    "ember.api.decorators",
    "ember.api.exceptions",
    "ember.api.operators",
    "ember.models.api",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    for test in finder.find(module, name):
        output: list[str] = []
        result = runner.run(test, out=output.append)
        if result.failed:
            failures.append("".join(output))
    attempted = runner.tries
    assert attempted >= 1, f"{name} has no docstring example; add one to a public function"
    assert not failures, f"{name}: {runner.failures} of {attempted} examples failed:\n" + "\n".join(
        failures
    )
