"""``>>`` and call-style detection added to ``ember.operators.base``."""

from ember.operators.base import Operator, takes_inputs_keyword


class Keyword(Operator):
    def forward(self, *, inputs):
        return inputs


class Positional(Operator):
    def forward(self, value):
        return value


class Mixed(Operator):
    def forward(self, value, *, inputs=None):
        return value


def test_keyword_style_detection():
    assert takes_inputs_keyword(Keyword)
    assert not takes_inputs_keyword(Positional)
    assert not takes_inputs_keyword(Mixed)


def test_rshift_builds_chains_from_either_side():
    assert (Keyword() >> Positional()).steps[0].__class__ is Keyword
    chain = len >> Positional()
    assert chain.steps[0] is len and chain([1, 2]) == 2
