"""Ember: compound AI programs, made fast by XCS without changing what they mean."""

__all__: list[str] = []
