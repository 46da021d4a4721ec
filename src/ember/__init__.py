"""Ember: compound AI programs, made fast by XCS without changing what they mean.

``from ember import xcs`` (``xcs.jit``, ``xcs.vmap``, ...) and ``from ember.api import
models, operators, op`` are the entry points. pyember's README spellings work too:
``from ember import models`` (the package, callable as the facade), ``Models`` and
``Operator`` (loaded when first asked for).
"""

from typing import Any

from ember import xcs

__all__ = ["xcs"]


def __getattr__(name: str) -> Any:
    if name == "Operator":
        from ember.operators import Operator

        return Operator
    if name == "Models":
        from ember.models import Models

        return Models
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
