"""The user-facing API of Ember: ``models``, ``operators``, ``decorators``, ``xcs``."""

__all__: list[str] = []
