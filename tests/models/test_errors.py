import pickle

import pytest

from ember.errors import EmberError
from ember.models import errors
from ember.xcs.errors import XCSError


def test_every_models_error_is_an_ember_error_and_not_an_xcs_error():
    for name in errors.__all__:
        kind = getattr(errors, name)
        assert issubclass(kind, errors.ModelError) and issubclass(kind, EmberError), name
        assert not issubclass(kind, XCSError), name


def test_errors_also_have_the_builtin_base_callers_expect():
    assert issubclass(errors.InvalidParamsError, ValueError)
    assert issubclass(errors.ModelNotFoundError, LookupError)
    assert issubclass(errors.ProviderNotFoundError, LookupError)
    assert issubclass(errors.MissingDependencyError, ImportError)
    assert issubclass(errors.SimulatedFailure, errors.ProviderError)
    assert issubclass(errors.MalformedResponseError, errors.ProviderError)
    assert issubclass(errors.ProviderTimeoutError, TimeoutError)


def test_provider_error_message_starts_with_the_model_id_once_known():
    error = errors.MalformedResponseError("the reply has no 'choices'")
    assert str(error) == "the reply has no 'choices'"
    error.model_id = "local/llama3"
    assert str(error) == "local/llama3: the reply has no 'choices'"
    assert str(errors.ProviderError("boom", model_id="a/b")) == "a/b: boom"


def test_provider_errors_survive_pickling_with_their_model_id():
    copy = pickle.loads(pickle.dumps(errors.SimulatedFailure("failed", model_id="flaky/s")))
    assert type(copy) is errors.SimulatedFailure
    assert str(copy) == "flaky/s: failed" and copy.model_id == "flaky/s"


def test_catching_ember_error_catches_both_layers():
    from ember.xcs import Config

    for trigger in (lambda: Config(max_workers=0), lambda: errors.ProviderError("x")):
        with pytest.raises(EmberError):
            result = trigger()
            raise result
