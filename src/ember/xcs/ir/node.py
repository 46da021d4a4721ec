"""The parts of the IR a graph is made of: ``Var``, ``Node``, ``NodeKind``, ``SourceLocation``.

Each node has one of four kinds:

- ``op``: a call of an op (LLM, tool, any ``@op``), scheduled on the engine;
- ``tensor``: a call of a ``mark_tensor`` function, scheduled like an op;
- ``lifted``: a cheap pure operation on a lazy value (``x[k]``, ``x.attr``, ``x + 1``,
  ``x.strip()``), evaluated inline as soon as its inputs exist;
- ``barrier``: a point where glue code needed a concrete value (``bool``, ``str``,
  ``len``, ...). It produces no value; it records where the program waited.

Edges are ``Var`` objects inside a node's argument pytree (``iter_vars`` and
``map_vars`` walk them); everything else in the arguments is a literal. The
``Graph`` that holds the nodes is in ``graph``.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ember.xcs.tree import leaves, map_tree

__all__ = ["Node", "NodeKind", "SourceLocation", "Var", "iter_vars", "map_vars"]


class NodeKind(enum.Enum):
    """The four kinds of node (see the module docstring)."""

    OP = "op"
    TENSOR = "tensor"
    LIFTED = "lifted"
    BARRIER = "barrier"


@dataclass(frozen=True, slots=True)
class Var:
    """A value flowing along an edge: the output of node ``id`` (or an input).

    ``name`` is a hint for printing (a parameter or a variable name bound by the user).
    """

    id: int
    name: str | None = None

    def __repr__(self) -> str:
        return f"Var({self.id}{', ' + repr(self.name) if self.name else ''})"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where in user code something happened."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        cell = notebook_cell(self.filename)
        return f"{' '.join(cell)}, line {self.lineno}" if cell else f"{self.filename}:{self.lineno}"

    @property
    def short(self) -> str:
        """``basename:line`` for compact displays (``In[3]:4`` for a notebook cell)."""
        cell = notebook_cell(self.filename)
        return f"{cell[1] if cell else self.filename.rsplit('/', 1)[-1]}:{self.lineno}"


def notebook_cell(filename: str) -> tuple[str, str] | None:
    """How IPython's tracebacks name the cell compiled under ``filename`` (``("Cell",
    "In[3]")``: a notebook's cells are files of temporary names), else ``None``."""
    ipython: Any = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    name = getattr(getattr(shell, "compile", None), "format_code_name", None)
    try:
        cell = name(filename) if name is not None else None
    except Exception:  # an IPython of another shape: the file name, as elsewhere
        return None
    return (str(cell[0]), str(cell[1])) if isinstance(cell, tuple) and len(cell) == 2 else None


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a graph.

    Attributes:
        id: position in program order (unique within a graph).
        kind: see ``NodeKind``.
        name: display name (the op's name, or the lifted operation: ``getitem``,
            ``getattr``, ``call``, ``add``, ...; for barriers the reason: ``bool``, ...).
        args: positional arguments, a pytree whose ``Var`` leaves are edges.
        kwargs: keyword arguments as ``(name, value)`` pairs.
        output: the value this node produces (``None`` for barriers).
        location: where user code made the call.
        fn: what to call (not part of equality or the structure signature).
        effect: runs eagerly and in program order (an effect op, or a lifted call that
            may act outside its value, such as ``path.write_text(s)``).
        mutates: may change the objects its inputs reach, in place (a lifted
            ``q.append(x)``): ordered with their other uses (``analysis.ordering``).
        deterministic: the same inputs always give the same output.
    """

    id: int
    kind: NodeKind
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    output: Var | None = None
    location: SourceLocation | None = None
    fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    effect: bool = False
    deterministic: bool = False
    mutates: bool = False

    @property
    def inputs(self) -> tuple[Var, ...]:
        """Every distinct ``Var`` this node reads, in argument order."""
        seen: dict[Var, None] = {}
        for var in iter_vars((self.args, self.kwargs)):
            seen.setdefault(var)
        return tuple(seen)

    @property
    def is_op(self) -> bool:
        """Whether this node runs an op body on the engine (op or tensor)."""
        return self.kind in (NodeKind.OP, NodeKind.TENSOR)


def iter_vars(tree: Any) -> Iterator[Var]:
    """Every ``Var`` leaf of a pytree of tuples, lists, dicts, sets and deques."""
    return iter(leaves(tree, Var))


def map_vars(tree: Any, fn: Callable[[Var], Any], *, share: bool = False) -> Any:
    """Rebuild a pytree with every ``Var`` replaced by ``fn(var)``.

    Containers are copied as their own type (a ``Counter`` stays one); with ``share``,
    those holding no ``Var`` are kept as they are (an effect op's own objects).
    """
    return map_tree(tree, fn, Var, share=share)
