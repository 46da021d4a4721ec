"""Annotated Operator fields get a dataclass-style ``__init__`` (docs/compat.md):
``dataclasses.field`` defaults and factories, and ``__post_init__`` before freezing."""

import dataclasses
import inspect

import pytest

from ember.operators.base import FrozenOperatorError, Operator


class Memory(Operator):
    model: str
    history: list = dataclasses.field(default_factory=list)
    temperature: float = dataclasses.field(default=0.7)

    def forward(self, text):
        self.history.append(text)
        return text


class Tuned(Operator):
    model: str
    temperature: float = 0.7
    label: str = ""

    def __post_init__(self):
        if not 0 <= self.temperature <= 2:
            raise ValueError("temperature must be in [0, 2]")
        self.label = f"{self.model}@{self.temperature}"

    def forward(self, text):
        return text


def test_field_defaults_and_factories_work_as_in_a_dataclass():
    first, second = Memory("m"), Memory("n", temperature=0.1)
    assert first.history == [] and first.history is not second.history
    assert (first.temperature, second.temperature) == (0.7, 0.1)
    first("hi")
    assert first.history == ["hi"] and second.history == []
    assert str(inspect.signature(Memory)) == \
        "(model, history=<factory>, temperature=0.7)"
    assert Memory("m", ["kept"]).history == ["kept"]


def test_post_init_runs_after_the_fields_are_set_and_before_freezing():
    tuned = Tuned("m", temperature=1.5)
    assert tuned.label == "m@1.5"
    with pytest.raises(ValueError, match=r"temperature must be in \[0, 2\]"):
        Tuned("m", temperature=5)
    with pytest.raises(FrozenOperatorError):
        tuned.label = "changed"
