"""What a function's code does besides computing its result, read once from its bytecode.

``code_effects(code)`` lists, for ``jit``'s tensor mode (``transforms.purity``), what
``jax.jit`` would do differently from plain Python: ``jax.jit`` runs the Python body
only while JAX traces it, so a rebinding of a global or an enclosing function's
variable, or a change in place of an object from outside the call, would happen once
per traced shape instead of on every call. It also lists the names the code reads from
outside, so that the caller can tell what they are (a print, ``np.random``, a helper
function to read in turn).

Versions: 3.11 loads methods with ``LOAD_METHOD``, 3.12 added ``STORE_SLICE`` and
inlines comprehensions, 3.13 loads and stores two locals in one instruction
(``LOAD_FAST_LOAD_FAST``, ``STORE_FAST_LOAD_FAST``, ``STORE_FAST_STORE_FAST``).

Example:
    >>> log = []
    >>> def record(x):
    ...     out = []
    ...     out.append(x)
    ...     log.append(x)
    ...     return out
    >>> [change.what for change in code_effects(record.__code__).changes]
    ['calls log.append()']
"""

from __future__ import annotations

import dis
from dataclasses import dataclass
from types import CodeType
from typing import NamedTuple

from ember.xcs.tracing.codemap import CodeMap

__all__ = ["Change", "CodeEffects", "code_effects"]

_CACHE_LIMIT = 20_000


class Change(NamedTuple):
    """One change in place: what it is, the variable holding the object (``""`` when
    unknown), the method called (``""`` for a store or an augmented assignment), the line."""

    what: str
    receiver: str
    method: str
    line: int


@dataclass(frozen=True)
class CodeEffects:
    """What a code object (with the code nested in it) does besides computing a result.

    Attributes:
        rebinds: ``(kind, name, line)`` for each assignment or deletion of a global
            (``kind`` ``"global"``) or of a variable of an enclosing function
            (``"nonlocal"``).
        changes: a ``Change`` for each change in place of an object the code did not
            build itself: item, slice and attribute stores and deletions, augmented
            assignments, calls of methods named like those that change their object
            (``append``, ``update``, ``fill``...). A local bound only to objects the code builds
            (``out = []``, ``out = {}``) can change freely; ``x.at[i].add(v)`` is JAX's
            update, which changes nothing.
        reads: ``(names, scope, line)`` for each name read from outside: ``scope`` is
            ``"global"``, ``"closure"`` (a variable of an enclosing function),
            ``"import"`` (a module imported in the body) or ``"self"`` (the first
            parameter); ``names`` is the name and the attributes read of it in a chain
            (``("np", "random", "normal")``).
    """

    rebinds: tuple[tuple[str, str, int], ...]
    changes: tuple[Change, ...]
    reads: tuple[tuple[tuple[str, ...], str, int], ...]


_effects: CodeMap[CodeEffects] = CodeMap(_CACHE_LIMIT)
_CHANGING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault",
    "add", "discard", "difference_update", "intersection_update", "symmetric_difference_update",
    "sort", "reverse", "appendleft", "extendleft", "popleft", "rotate", "fill", "put", "itemset",
    "resize", "setfield", "setflags", "partition", "byteswap", "write", "writelines", "send",
    "__setitem__", "__delitem__", "__setattr__", "__delattr__", "__iadd__"})
_JAX_UPDATES = frozenset({"set", "add", "multiply", "divide", "power", "min", "max", "apply"})
_BUILDS = frozenset({"BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_CONST_KEY_MAP", "LIST_EXTEND",
                     "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", "BINARY_OP"})
_LOCAL_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW", "LOAD_DEREF"})
_PAIR_LOADS = frozenset({"LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"})
_VALUE_LOADS = frozenset({"LOAD_CONST", "LOAD_SMALL_INT", "LOAD_GLOBAL", "LOAD_NAME"})
_CHAIN_STARTS = _LOCAL_LOADS | _PAIR_LOADS | {"STORE_FAST_LOAD_FAST"}  # 3.13: stores, then loads
_CLOSURE_LOADS = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FROM_DICT_OR_DEREF"})
_ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_RECEIVER_DEPTHS = {"STORE_ATTR": 0, "DELETE_ATTR": 0, "STORE_SUBSCR": 1, "DELETE_SUBSCR": 1,
                    "STORE_SLICE": 2}


def code_effects(code: CodeType) -> CodeEffects:
    """What ``code`` rebinds, changes in place and reads from outside (cached)."""
    known = _effects.get(code)
    if known is None:
        known = _effects[code] = _read_effects(code)
    return known


def _read_effects(code: CodeType) -> CodeEffects:
    instructions = list(dis.get_instructions(code))
    fresh = _built_locals(code, instructions)
    first = code.co_varnames[0] if code.co_argcount else None
    rebinds: list[tuple[str, str, int]] = []
    changes: list[Change] = []
    reads: list[tuple[tuple[str, ...], str, int]] = []
    imported: dict[str, tuple[str, ...]] = {}  # local name -> the module path it names
    chain: list[str] = []
    scope, line = "", code.co_firstlineno
    start = line  # the line of the chain being read
    base: tuple[str, ...] = ()  # the module of the import being read: ("numpy", "random")
    module: tuple[str, ...] = ()  # what it binds: that module, or a name from it
    for index, instruction in enumerate(instructions):
        name, value = instruction.opname, instruction.argval
        if instruction.positions is not None and instruction.positions.lineno is not None:
            line = instruction.positions.lineno
        if chain and name in _ATTRIBUTE_LOADS:
            chain.append(value)
        elif chain:
            reads.append((tuple(chain), scope, start))
            chain = []
        if name in ("LOAD_GLOBAL", "LOAD_NAME"):
            chain, scope, start = [value], "global", line
        elif name in _CLOSURE_LOADS and value in code.co_freevars:
            chain, scope, start = [value], "closure", line
        elif name in _CHAIN_STARTS:
            if name == "STORE_FAST_LOAD_FAST" and module:
                imported[value[0]] = module
            loaded = value[1] if isinstance(value, tuple) else value  # a pair: the top one
            if loaded in imported or loaded == first:
                chain, scope = (([*imported[loaded]], "import") if loaded in imported
                                else ([loaded], "self"))
                start = line
        elif name == "IMPORT_NAME":  # `import a.b` gives a, `from a.b import c` a.b
            reads.append((tuple(value.split(".")), "import", line))
            listed = index > 0 and instructions[index - 1].argval is not None
            base = module = tuple(value.split(".")) if listed else (value.split(".")[0],)
        elif name == "IMPORT_FROM":
            module = (*base, value)
            reads.append((module, "import", line))
        elif name == "STORE_FAST" and module:
            imported[value] = module
        elif name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            rebinds.append(("global", value, line))
        elif name in ("STORE_DEREF", "DELETE_DEREF") and value in code.co_freevars:
            rebinds.append(("nonlocal", value, line))
        elif name in _RECEIVER_DEPTHS:
            receiver = _receiver(instructions, index, _RECEIVER_DEPTHS[name])
            if receiver not in fresh:
                holder = receiver or "an object"
                what = (f"sets attribute {value} of {holder}" if name == "STORE_ATTR"
                        else f"deletes from {holder}" if name.startswith("DELETE")
                        else f"stores an item into {holder}")
                changes.append(Change(what, receiver or "", "", line))
        elif name in _ATTRIBUTE_LOADS and value in _CHANGING_METHODS and not _jax_update(
                instructions, index):
            receiver = _receiver(instructions, index, 0)
            if receiver not in fresh:
                changes.append(Change(f"calls {receiver or '(an object)'}.{value}()",
                                      receiver or "", value, line))
        elif name == "BINARY_OP" and instruction.argrepr.endswith("="):
            following = instructions[index + 1] if index + 1 < len(instructions) else None
            target = following.argval if following is not None and following.opname.startswith(
                ("STORE_FAST", "STORE_DEREF")) else ""
            target = target[0] if isinstance(target, tuple) else target
            if target not in fresh:
                changes.append(Change(f"{target or 'an item or attribute'} "
                                      f"{instruction.argrepr} ...", target, "", line))
        if name not in ("IMPORT_NAME", "IMPORT_FROM", "SWAP", "POP_TOP", "STORE_FAST"):
            module = ()  # the import's names are bound
    if chain:
        reads.append((tuple(chain), scope, start))
    for const in code.co_consts:  # lambdas, comprehensions, inner functions
        if isinstance(const, CodeType):
            inner = code_effects(const)
            own = code.co_cellvars  # the enclosing code's own variables: not outside
            rebinds += [r for r in inner.rebinds if r[0] == "global" or r[1] not in own]
            changes += inner.changes
            reads += [r for r in inner.reads if r[1] != "self"
                      and not (r[1] == "closure" and r[0][0] in own)]
    return CodeEffects(tuple(rebinds), tuple(changes), tuple(reads))


def _built_locals(code: CodeType, instructions: list[dis.Instruction]) -> frozenset[str]:
    """The locals every assignment of which binds an object built right there."""
    flags = code.co_flags
    count = code.co_argcount + code.co_kwonlyargcount + bool(flags & 0x04) + bool(flags & 0x08)
    outside = set(code.co_varnames[:count]) | set(code.co_freevars)
    built: dict[str, bool] = {}
    previous: dis.Instruction | None = None
    for instruction in instructions:
        name, value = instruction.opname, instruction.argval
        if name in ("STORE_FAST", "STORE_DEREF", "STORE_FAST_LOAD_FAST"):
            target = value[0] if isinstance(value, tuple) else value
            made = (previous is not None and previous.opname in _BUILDS
                    and not instruction.is_jump_target)
            built[target] = built.get(target, True) and made
        elif name == "STORE_FAST_STORE_FAST":
            built.update(dict.fromkeys(value, False))
        previous = instruction
    return frozenset(n for n, made in built.items() if made and n not in outside)


def _receiver(instructions: list[dis.Instruction], index: int, depth: int) -> str | None:
    """The variable whose value is ``depth`` deep on the stack before
    ``instructions[index]``, when only plain loads push the values above it; else ``None``."""
    pushed: list[str | None] = []  # the top of the stack first
    for position in range(index - 1, max(index - 8, -1), -1):
        instruction = instructions[position]
        name = instruction.opname
        if name in _LOCAL_LOADS or (name in ("LOAD_GLOBAL", "LOAD_NAME")
                                    and "NULL" not in instruction.argrepr):
            pushed.append(instruction.argval)
        elif name in _PAIR_LOADS:
            pushed += [instruction.argval[1], instruction.argval[0]]
        elif name == "STORE_FAST_LOAD_FAST":  # 3.13: pops a value below the one it pushes
            pushed.append(instruction.argval[1])
            return pushed[depth] if len(pushed) > depth else None
        elif name in _VALUE_LOADS and "NULL" not in instruction.argrepr:
            pushed.append(None)
        else:
            return None
        if len(pushed) > depth:
            return pushed[depth]
    return None


def _jax_update(instructions: list[dis.Instruction], index: int) -> bool:
    """Whether the method loaded at ``index`` is JAX's ``x.at[i].add`` (no change)."""
    return (instructions[index].argval in _JAX_UPDATES and index > 0
            and instructions[index - 1].opname in ("BINARY_SUBSCR", "BINARY_SLICE")
            and any(i.opname in _ATTRIBUTE_LOADS and i.argval == "at"
                    for i in instructions[max(index - 10, 0):index]))
