"""A dictionary keyed by code objects, by identity.

Hashing a code object hashes its name, bytecode and constants: about 3 µs for a
function of a few dozen lines, paid on every lookup. The tracer looks code objects
up on every op call, so its caches key them by ``id`` instead, and hold the code
object in the entry: while an entry exists, its id cannot be reused by another
object.
"""

from __future__ import annotations

from types import CodeType
from typing import Generic, TypeVar

__all__ = ["CodeMap"]

V = TypeVar("V")


class CodeMap(Generic[V]):
    """``code -> value`` by identity; cleared when it holds more than ``limit`` entries."""

    __slots__ = ("_items", "_limit")

    def __init__(self, limit: int | None = None) -> None:
        self._items: dict[int, tuple[CodeType, V]] = {}
        self._limit = limit

    @property
    def entries(self) -> dict[int, tuple[CodeType, V]]:
        """``id(code) -> (code, value)``: the same dictionary for the map's whole life
        (cleared in place), for a loop that looks up many code objects without a method
        call each (check ``entry[0] is code``)."""
        return self._items

    def get(self, code: CodeType, default: V | None = None) -> V | None:
        """The value of ``code`` (``default`` when there is none)."""
        item = self._items.get(id(code))
        if item is not None and item[0] is code:
            return item[1]
        return default

    def __contains__(self, code: CodeType) -> bool:
        item = self._items.get(id(code))
        return item is not None and item[0] is code

    def __setitem__(self, code: CodeType, value: V) -> None:
        if self._limit is not None and len(self._items) >= self._limit:
            self._items.clear()
        self._items[id(code)] = (code, value)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget every entry."""
        self._items.clear()
