"""``input_spec`` / ``output_spec`` of Operators: class and instance level."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ember.operators import Operator
from ember.xcs import jit


class Question(BaseModel):
    text: str


class Answer(BaseModel):
    text: str
    score: float = 0.0


class Named(Operator):
    """Takes its specs in ``__init__``, as pyember operators often did."""

    def __init__(self, input_spec=None, output_spec=None):
        if input_spec is not None:
            self.input_spec = input_spec
        if output_spec is not None:
            self.output_spec = output_spec

    def forward(self, question):
        return {"text": type(question).__name__}


def test_an_input_spec_set_on_the_instance_validates_the_input():
    assert Named(input_spec=Question)({"text": "hi"}) == {"text": "Question"}
    assert Named()({"text": "hi"}) == {"text": "dict"}  # other instances are unaffected
    with pytest.raises(ValidationError):
        Named(input_spec=Question)({"words": "hi"})
    assert jit(Named(input_spec=Question))({"text": "hi"}) == {"text": "Question"}


def test_an_output_spec_set_on_the_instance_validates_the_result():
    reply = Named(output_spec=Answer)("q")
    assert isinstance(reply, Answer) and reply.text == "str"


def test_the_instance_spec_wins_over_the_class_spec():
    class Strict(Named):
        input_spec = Answer

    assert Strict()({"text": "a", "score": 1}) == {"text": "Answer"}
    assert Strict(input_spec=Question)({"text": "a"}) == {"text": "Question"}

    class Loose(Strict):
        def __init__(self):
            self.input_spec = None  # switches the class's spec off for this instance

    assert Loose()({"text": "a"}) == {"text": "dict"}


def test_a_bad_instance_spec_is_a_clear_type_error():
    with pytest.raises(TypeError, match="input_spec must be a class with model_validate"):
        Named(input_spec=dict)({"text": "hi"})
