from ember.models import errors
from ember.xcs.errors import XCSError


def test_every_models_error_is_an_xcs_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), XCSError), name


def test_errors_also_have_the_builtin_base_callers_expect():
    assert issubclass(errors.InvalidParamsError, ValueError)
    assert issubclass(errors.ModelNotFoundError, LookupError)
    assert issubclass(errors.ProviderNotFoundError, LookupError)
    assert issubclass(errors.MissingDependencyError, ImportError)
    assert issubclass(errors.SimulatedFailure, errors.ProviderError)
