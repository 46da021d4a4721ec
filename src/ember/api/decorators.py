"""Decorators that mark functions for XCS: ``op``, ``mark_orchestration``, ``mark_tensor``."""

from ember.xcs.ops import mark_orchestration, mark_tensor, op

__all__ = ["mark_orchestration", "mark_tensor", "op"]
