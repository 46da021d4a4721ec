import pickle

import pytest

from ember.models import Response, Usage


def make(text="hello", simulated=False):
    return Response(text, model_id="p/m", provider="p", usage=Usage.of(2, 3), simulated=simulated)


def test_response_is_a_str_with_facts():
    reply = make()
    assert isinstance(reply, str)
    assert reply == "hello" and reply.upper() == "HELLO"
    assert type(reply.text) is str and reply.text == "hello"
    assert reply.usage == Usage(2, 3, 5)
    assert (reply.model_id, reply.provider, reply.simulated) == ("p/m", "p", False)


def test_response_is_immutable():
    with pytest.raises(AttributeError):
        make().usage = Usage()


def test_repr_labels_simulated_replies():
    assert "simulated=True" in repr(make(simulated=True))
    assert "simulated" not in repr(make())


def test_pickle_round_trip_keeps_facts():
    copy = pickle.loads(pickle.dumps(make(simulated=True)))
    assert isinstance(copy, Response)
    assert (copy, copy.usage, copy.model_id, copy.simulated) == (
        "hello",
        Usage(2, 3, 5),
        "p/m",
        True,
    )


def test_usage_adds_fieldwise():
    assert Usage.of(1, 2) + Usage(3, 4, 7) == Usage(4, 6, 10)
    assert Usage().total_tokens == 0
