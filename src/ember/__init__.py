"""Ember: compound AI programs, made fast by XCS without changing what they mean.

``from ember import xcs`` (``xcs.jit``, ``xcs.vmap``, ...) and ``from ember.api import
models, operators, op`` are the entry points.
"""

from ember import xcs

__all__ = ["xcs"]
