import pytest

from ember.models import InvalidParamsError, ModelBinding, ModelNotFoundError


def test_binding_applies_defaults_and_call_params_win(registry):
    terse = ModelBinding("simulated/m", registry=registry, max_tokens=1)
    assert terse.model_id == "simulated/m"
    assert terse("hello") == "[simulated] " + terse("hello").text[len("[simulated] ") :]
    assert len(terse("a question").text) <= len("[simulated] ") + 4
    long_reply = terse("a question", max_tokens=100)
    assert len(long_reply.text) >= len(terse("a question").text)


def test_binding_checks_id_and_defaults_eagerly(registry):
    with pytest.raises(ModelNotFoundError):
        ModelBinding("mystery", registry=registry)
    with pytest.raises(InvalidParamsError, match="temperature"):
        ModelBinding("simulated/m", registry=registry, temperature=9)


def test_binding_repr_shows_settings(registry):
    assert repr(ModelBinding("simulated/m", registry=registry, temperature=0)) == (
        "ModelBinding('simulated/m', temperature=0)"
    )
