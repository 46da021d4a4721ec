"""Every docstring example in the models layer and ``ember.testing`` runs as shown."""

import doctest
import importlib
import pkgutil

import pytest

import ember.models
import ember.testing

FINDER = doctest.DocTestFinder(exclude_empty=True)


def examples_by_module():
    names = ["ember.errors"]
    for package in (ember.models, ember.testing):
        names.append(package.__name__)
        names.extend(
            info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        )
    found = {}
    for name in names:
        tests = [test for test in FINDER.find(importlib.import_module(name), name) if test.examples]
        if tests:
            found[name] = tests
    return found


EXAMPLES = examples_by_module()


def test_the_public_modules_all_have_examples():
    assert {
        "ember.errors",
        "ember.models.api",
        "ember.models.ratelimit",
        "ember.models.retry",
        "ember.models.stream",
        "ember.models.registry",
        "ember.models.model_op",
        "ember.models.providers.simulated",
        "ember.testing.clock",
        "ember.testing.loopback",
    } <= set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_run(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output = []
    for test in EXAMPLES[name]:
        runner.run(test, out=output.append)
    assert runner.tries >= 1 and runner.failures == 0, "".join(output)
