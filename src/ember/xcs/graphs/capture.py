"""What ``autograph`` keeps of the values it meets: call arguments and the block's outputs.

``capture_call`` turns the arguments of a recorded call into IR arguments, at the call:

- a symbol becomes the ``Var`` it stands for;
- containers (lists, dicts, sets, deques, tuples, named tuples, and their subclasses)
  are copied as their own class, so a later change in the block does not reach the
  node (plain Python ran it already); an effect op's containers holding no symbol are
  its caller's own objects, as under ``@jit``;
- a record (dataclass, pydantic model, ``SimpleNamespace``, object of a user class)
  holding a symbol becomes a lifted node that rebuilds it at execute: a copy of it,
  made now, with the symbols' values put in; other records are passed as they are.
  A record that cannot be copied, or that holds itself, raises ``GraphError`` naming
  the call, the argument and the fix.

``as_output`` turns a variable of the block into an output tree (a list, tuple, named
tuple or dict holding symbols is one too).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ember.xcs import tree
from ember.xcs.errors import GraphError
from ember.xcs.ir.builder import GraphBuilder
from ember.xcs.ir.graph import NodeKind, SourceLocation, Var
from ember.xcs.tree.kinds import record_items, set_attribute

__all__ = ["NOT_RECORDED", "RebuildRecord", "as_output", "capture_call"]

_OUTPUT_DEPTH = 4  # how deep lists, tuples and dicts of the block's variables are searched


class RebuildRecord:
    """The function of a lifted node rebuilding a record: a copy of ``template`` with the
    given attributes set (a fresh object per execution, as each run of the code makes)."""

    __slots__ = ("template",)

    def __init__(self, template: Any) -> None:
        self.template = template

    def __call__(self, /, **attributes: Any) -> Any:
        record = copy.copy(self.template)
        for name, value in attributes.items():
            set_attribute(record, name, value)
        return record

    def __repr__(self) -> str:
        return f"<rebuild {type(self.template).__name__}>"


def capture_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, leaf: type,
                 var_of: Callable[[Any], Var], share: bool, builder: GraphBuilder,
                 location: SourceLocation | None
                 ) -> tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    """The IR arguments of a call of ``name`` at ``location`` (see the module docstring).

    Args:
        name: what is called (an op's name, ``getitem``...).
        args, kwargs: the arguments as given.
        leaf: the symbol type; ``var_of`` gives a symbol's ``Var``.
        share: keep containers holding no symbol as they are (an effect op).
        builder: where the nodes rebuilding records are added, at ``location``.

    Raises:
        GraphError: a record holding a symbol cannot be rebuilt.
    """
    building: set[int] = set()
    call = f"the call of {name!r}" + (f" at {location}" if location else "")

    def add_record(cls: str, attributes: tuple[tuple[str, Any], ...],
                   rebuild: RebuildRecord) -> Var:
        made = builder.add(NodeKind.LIFTED, cls, (), attributes, fn=rebuild, location=location)
        assert made.output is not None, "lifted nodes have an output"
        return made.output

    def capture(value: Any, argument: str) -> Any:
        def record(found: Any) -> Var:
            return _rebuilt(found, call, argument, building, capture, add_record, leaf)

        return tree.map_tree(value, var_of, leaf, share=share, record=record)

    captured = tuple(capture(value, f"argument {index + 1}") for index, value in enumerate(args))
    return captured, tuple((key, capture(value, f"argument {key!r}"))
                           for key, value in kwargs.items())


def _rebuilt(record: Any, call: str, argument: str, building: set[int],
             capture: Callable[[Any, str], Any],
             add_record: Callable[[str, tuple[tuple[str, Any], ...], RebuildRecord], Var],
             leaf: type) -> Var:
    """The ``Var`` of a node rebuilding ``record``, which holds a symbol."""
    cls = type(record).__name__
    held = [(name, item) for name, item in record_items(record)
            if tree.contains(item, leaf, records=True)]
    problem = "it holds itself" if id(record) in building else None
    if problem is None:
        try:
            template = copy.copy(record)
            for name, _ in held:
                set_attribute(template, name, None)
        except Exception as error:
            problem = f"copying it failed ({type(error).__name__}: {error})"
    if problem is not None:
        fields = ", ".join(name for name, _ in held)
        raise GraphError(
            f"{call}: its {argument} holds a recorded value inside a {cls} (in {fields}). "
            f"autograph rebuilds such an object at execute, as a copy of it holding the "
            f"value, but {problem}. Pass the recorded value to the op as an argument of "
            f"its own, or build the {cls} inside an op."
        )
    building.add(id(record))
    try:
        attributes = tuple((name, capture(item, argument)) for name, item in held)
    finally:
        building.discard(id(record))
    return add_record(cls, attributes, RebuildRecord(template))


class _NotRecorded:
    def __repr__(self) -> str:
        return "<not recorded>"


NOT_RECORDED: Any = _NotRecorded()


def as_output(value: Any, leaf: type, var_of: Callable[[Any], Var | None],
              depth: int = _OUTPUT_DEPTH) -> Any:
    """``value`` with its ``leaf`` values (symbols) as ``var_of(symbol)``; ``NOT_RECORDED``
    if it holds none of the recording's (``var_of`` gives ``None`` for another's).

    Lists, tuples (named too) and dicts are searched, ``depth`` levels deep.

    Example:
        >>> as_output([1, "s"], str, lambda symbol: Var(7))
        [1, Var(7)]
        >>> as_output({"k": 1}, str, lambda symbol: Var(7))
        <not recorded>
    """
    if type(value) is leaf:
        var = var_of(value)
        return NOT_RECORDED if var is None else var
    kind = tree.kind_of(value)
    if depth <= 0 or not (type(value) in (list, tuple, dict) or kind is tree.Kind.NAMEDTUPLE):
        return NOT_RECORDED
    items = value.items() if isinstance(value, dict) else enumerate(value)
    pairs = [(key, item, as_output(item, leaf, var_of, depth - 1)) for key, item in items]
    if all(new is NOT_RECORDED for _, _, new in pairs):
        return NOT_RECORDED
    plain = {key: item if new is NOT_RECORDED else new for key, item, new in pairs}
    if isinstance(value, dict):
        return plain
    if kind is tree.Kind.NAMEDTUPLE:
        return type(value)._make(plain.values())
    return type(value)(plain.values())
