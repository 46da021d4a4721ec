"""Two small operators the operator tests compose: one of each calling style."""

from ember.operators.base import Operator


class Upper(Operator):
    """Keyword style: ``forward(*, inputs)``."""

    def forward(self, *, inputs):
        return inputs.upper()


class Exclaim(Operator):
    """Positional style: ``forward(text)``."""

    def forward(self, text):
        return text + "!"
