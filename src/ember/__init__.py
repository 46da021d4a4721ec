"""Ember: compound AI programs, made fast by XCS without changing what they mean.

``from ember import xcs`` (``xcs.jit``, ``xcs.vmap``, ...) and ``from ember.api import
models, operators, op`` are the entry points. pyember's spellings work too, loaded when
first asked for, so ``import ember`` stays as cheap as ``ember.xcs``: after ``import
ember``, ``ember.models`` (the package, callable as the facade), ``ember.operators``,
``ember.non``, ``ember.api``, ``ember.op`` (``ember.api.op``), ``ember.model``
(``models.instance``), ``ember.Models``, ``ember.Operator`` and ``ember.__version__``.
"""

import importlib
from typing import Any

from ember import xcs

__all__ = ["xcs"]

_SUBPACKAGES = frozenset({"api", "models", "non", "operators"})


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"ember.{name}")
    if name == "Operator":
        from ember.operators import Operator

        return Operator
    if name == "op":
        from ember.operators import op

        return op
    if name == "Models":
        from ember.models import Models

        return Models
    if name == "model":
        from ember.models import models

        return models.instance
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ember-xcs")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"
