"""``EmberModel``: pyember's base class for input and output models.

A pydantic ``BaseModel`` that also reads like a dict (``output["answer"]``,
``output.get("confidence", 0.0)``, ``keys``/``items``), as pyember's did, and refuses
unknown fields. pydantic is optional for Ember: this module is imported only when
``EmberModel`` is first asked for (``ember.api.models``, ``ember.api.operator``,
``ember.api.types``).

Example:
    >>> class Answer(EmberModel):
    ...     answer: str
    ...     confidence: float = 0.0
    >>> reply = Answer(answer="Paris")
    >>> reply["answer"], reply.get("confidence"), dict(reply)
    ('Paris', 0.0, {'answer': 'Paris', 'confidence': 0.0})
"""

from __future__ import annotations

from typing import Any

try:
    from pydantic import BaseModel, ConfigDict
except ImportError as error:  # pragma: no cover - pydantic ships with the dev extra
    raise ImportError(
        "EmberModel is a pydantic model and needs pydantic: pip install pydantic"
    ) from error

__all__ = ["EmberModel"]


class EmberModel(BaseModel):
    """A pydantic model whose fields also read by key, like a dict.

    Unknown fields are refused (``extra="forbid"``), as in pyember.
    """

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when the model has no such field."""
        return getattr(self, key) if key in self else default

    def keys(self) -> list[str]:
        """The field names, in order."""
        return list(type(self).model_fields)

    def values(self) -> list[Any]:
        """The field values, in order."""
        return [getattr(self, key) for key in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` for each field, in order."""
        return [(key, getattr(self, key)) for key in self.keys()]

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (``model_dump``); ``as_dict`` is the same."""
        return self.model_dump()

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (pyember's older name for ``to_dict``)."""
        return self.model_dump()

    def to_json(self) -> str:
        """The fields as JSON (``model_dump_json``)."""
        return self.model_dump_json()
