"""The examples in the public modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = (
    "ember.xcs.config",
    "ember.xcs.checks",
    "ember.xcs.errors",
    "ember.xcs.api.stats",
    "ember.xcs.hooks",
    "ember.xcs.tracing.settings",
    "ember.xcs.tracing.files",
    "ember.xcs.tracing.thread_bound",
    "ember.xcs.tracing.operator_kinds",
    "ember.xcs.tracing.generators",
    "ember.xcs.tracing.changes",
    "ember.xcs.graphs.options",
    "ember.xcs.cache",
    "ember.xcs.cache.keys",
    "ember.xcs.cache.identity",
    "ember.xcs.cache.store",
    "ember.xcs.cache.scope",
    "ember.xcs.cache.counters",
    "ember.xcs.engine.captured",
    "ember.xcs.policies",
    "ember.xcs.telemetry",
    "ember.xcs.timeline",
    "ember.xcs.display",
    "ember.xcs.interop",
    "ember.xcs.ops",
    "ember.xcs.op_runs",
    "ember.xcs.api.jit",
    "ember.xcs.reloading",
    "ember.xcs.api.explain",
    "ember.xcs.api.awaiting",
    "ember.xcs.api.explanation",
    "ember.xcs.api.views",
    "ember.xcs.analysis.dependencies",
    "ember.xcs.analysis.ordering",
    "ember.xcs.analysis.paths",
    "ember.xcs.analysis.report",
    "ember.xcs.analysis.marks",
    "ember.xcs.analysis.operations",
    "ember.xcs.compat.structural",
    "ember.xcs.transforms.leaves",
    "ember.xcs.transforms.purity",
    "ember.xcs.transforms.readings",
    "ember.xcs.tree.kinds",
    "ember.xcs.tree.walk",
    "ember.xcs.tree.snapshots",
    "ember.xcs.tracing.protocols",
    "ember.xcs.tracing.own_errors",
    "ember.xcs.tracing.operators",
    "ember.xcs.tracing.validation",
    "ember.xcs.tracing.effects",
    "ember.xcs.tracing.source_texts",
    "ember.testing._wire",
    "ember.xcs.compat.xcsapi",
    "ember.operators.base",
    "ember.operators.blocks",
    "ember.operators.function",
    "ember.operators.model_calls",
    "ember.operators.retry",
    "ember.operators.routing",
    "ember.operators.specification",
    "ember.operators.ember_model",
    "ember.operators._validation",
    "ember.non",
    "ember.non.graph",
    "ember.non.notation",
    "ember.non.patterns",
    "ember.api",
    "ember.api.decorators",
    "ember.api.exceptions",
    "ember.api.operators",
    "ember.api.operator",
    "ember.api.types",
    "ember.models.api",
    "ember.api.models",
    "ember.xcs.api.compare",
    "ember.xcs.api.composing",
    "ember.xcs.engine.reference",
    "ember.xcs.engine.strategies",
    "ember.xcs.graphs.capture",
    "ember.xcs.graphs.execute",
    "ember.xcs.graphs.hidden",
    "ember.xcs.graphs.passes",
    "ember.xcs.graphs.recording",
    "ember.xcs.ir.export",
    "ember.xcs.ir.render",
    "ember.xcs.tracing.callees",
    "ember.xcs.tracing.handover",
    "ember.xcs.api.hosts",
    "ember.xcs.tracing.immediate",
    "ember.xcs.tracing.methods",
    "ember.xcs.tracing.reads",
    "ember.xcs.tracing.rebinding",
    "ember.xcs.api.nesting",
    "ember.xcs.api.callsite",
    "ember.xcs.tracing.unwound",
    "ember.xcs.tracing.usercode",
    "ember.xcs.tracing.wrappers",
    "ember.xcs.transforms.grad",
    "ember.xcs.transforms.mesh",
    "ember.xcs.transforms.pmap",
    "ember.xcs.transforms.scan",
    "ember.xcs.transforms.vmap",
)
# Walked by tests/models/test_docstring_examples.py and run there.
ELSEWHERE = ("ember.models.", "ember.testing.", "ember.errors", "ember.xcs.distributed._cluster")
SRC = Path(__file__).resolve().parent.parent / "src"


def test_every_module_with_an_example_runs_it() -> None:
    with_examples = set()
    for path in (SRC / "ember").rglob("*.py"):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(SRC).with_suffix("").parts
            with_examples.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    unlisted = {name for name in with_examples - set(MODULES)
                if not name.startswith(ELSEWHERE)}
    assert not unlisted, f"add to MODULES so their examples run: {sorted(unlisted)}"


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
