"""``EmberModel``: pyember's base class for input and output models.

A pydantic ``BaseModel`` that also reads like a read-only dict (``output["answer"]``,
``output.get("confidence", 0.0)``, ``keys``/``items``, ``len``, iteration over the field
names, equality with a dict of the same fields), as pyember's did, and refuses unknown
fields. pydantic is optional for Ember: this module is imported only when
``EmberModel`` is first asked for (``ember.api.models``, ``ember.api.operator``,
``ember.api.types``).

Example:
    >>> class Answer(EmberModel):
    ...     answer: str
    ...     confidence: float = 0.0
    >>> reply = Answer(answer="Paris")
    >>> reply["answer"], reply.get("confidence"), dict(reply)
    ('Paris', 0.0, {'answer': 'Paris', 'confidence': 0.0})
    >>> list(reply), len(reply), reply == {"answer": "Paris", "confidence": 0.0}
    (['answer', 'confidence'], 2, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

try:
    from pydantic import BaseModel, ConfigDict
except ImportError as error:  # pragma: no cover - pydantic ships with the dev extra
    raise ImportError(
        "EmberModel is a pydantic model and needs pydantic: pip install pydantic"
    ) from error

from ember.xcs.tracing import context  # the library hook: validation as jitted code calls it

__all__ = ["EmberModel"]

_M = TypeVar("_M", bound="EmberModel")


class EmberModel(BaseModel):
    """A pydantic model whose fields also read by key, like a dict.

    Unknown fields are refused (``extra="forbid"``), as in pyember. As pyember's, it is
    a read-only mapping of its fields: iterating gives the field names (pydantic's
    ``BaseModel`` gives ``(name, value)`` pairs), ``len`` counts them, and it equals a
    dict, or another ``EmberModel``, holding the same fields and values.
    """

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())

    def __len__(self) -> int:
        return len(type(self).model_fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return self.to_dict() == other
        if isinstance(other, EmberModel):
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as pydantic's models

    @classmethod
    def from_dict(cls: type[_M], data: Any) -> _M:
        """The model validated from a dict (``model_validate``); under ``@jit`` a dict
        holding op results is validated once they exist."""
        model: _M = context.call(cls.model_validate, data)
        return model

    @classmethod
    def from_json(cls: type[_M], text: str | bytes) -> _M:
        """The model validated from JSON text (``model_validate_json``), once a pending
        text exists under ``@jit``."""
        model: _M = context.call(cls.model_validate_json, text)
        return model

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
        """The fields as JSON (``model_dump_json``); ``as_json`` is the same."""
        return self.model_dump_json()

    def as_json(self) -> str:
        """The fields as JSON (pyember's older name for ``to_json``)."""
        return self.model_dump_json()
