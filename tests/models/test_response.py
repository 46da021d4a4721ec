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


def test_usage_reads_like_pyembers_usage_dict():
    usage = make().usage
    expected = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert "total_tokens" in usage and "cost" not in usage and 0 not in usage
    assert dict(usage) == expected
    assert list(usage) == list(expected) == list(usage.keys())
    assert len(usage) == 3
    assert list(usage.values()) == [2, 3, 5]
    assert dict(usage.items()) == expected
    assert usage.get("total_tokens") == 5
    assert usage.get("cost") is None and usage.get("cost", 0.0) == 0.0
    assert {**usage} == expected
    with pytest.raises(KeyError, match="not 'cost'"):
        usage["cost"]


def test_usage_stays_frozen_and_hashable():
    usage = Usage.of(1, 2)
    with pytest.raises(AttributeError):
        usage.total_tokens = 9  # type: ignore[misc]
    assert hash(usage) == hash(Usage.of(1, 2))
    assert {usage: "x"}[Usage(1, 2, 3)] == "x"
