"""What ``autograph`` keeps of the values it meets: the block's variables as outputs.

``as_output`` turns a variable of the block into an output tree: the recording's
symbols in it become the ``Var``s they stand for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.xcs.ir.graph import Var

__all__ = ["NOT_RECORDED", "as_output"]

_OUTPUT_DEPTH = 4  # how deep lists, tuples and dicts of the block's variables are searched


class _NotRecorded:
    def __repr__(self) -> str:
        return "<not recorded>"


NOT_RECORDED: Any = _NotRecorded()


def as_output(value: Any, leaf: type, var_of: Callable[[Any], Var | None],
              depth: int = _OUTPUT_DEPTH) -> Any:
    """``value`` with its ``leaf`` values (symbols) as ``var_of(symbol)``; ``NOT_RECORDED``
    if it holds none of the recording's (``var_of`` gives ``None`` for another's).

    Lists, tuples and dicts are searched, ``depth`` levels deep.

    Example:
        >>> as_output([1, "s"], str, lambda symbol: Var(7))
        [1, Var(7)]
        >>> as_output({"k": 1}, str, lambda symbol: Var(7))
        <not recorded>
    """
    if type(value) is leaf:
        var = var_of(value)
        return NOT_RECORDED if var is None else var
    if depth <= 0 or type(value) not in (list, tuple, dict):
        return NOT_RECORDED
    items = value.items() if isinstance(value, dict) else enumerate(value)
    pairs = [(key, item, as_output(item, leaf, var_of, depth - 1)) for key, item in items]
    if all(new is NOT_RECORDED for _, _, new in pairs):
        return NOT_RECORDED
    plain = {key: item if new is NOT_RECORDED else new for key, item, new in pairs}
    if isinstance(value, dict):
        return plain
    return type(value)(plain.values())
