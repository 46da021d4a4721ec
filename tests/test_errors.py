"""``ember.errors``: one root for the errors of every layer."""

import doctest

import ember.errors
from ember.errors import EmberError
from ember.models.errors import ModelError
from ember.xcs.errors import ConfigError, XCSError


def test_both_layers_share_the_root_and_stay_independent():
    assert issubclass(XCSError, EmberError) and issubclass(ModelError, EmberError)
    assert not issubclass(ModelError, XCSError) and not issubclass(XCSError, ModelError)
    assert issubclass(ConfigError, EmberError)
    assert EmberError.__bases__ == (Exception,)


def test_module_example_runs():
    failures, tried = doctest.testmod(ember.errors)
    assert tried >= 3 and failures == 0
