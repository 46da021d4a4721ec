"""A rerun reusing an op that ran on the caller's own objects (``tracing.memo``): the
objects the rerun made again get the op's change, the op runs once."""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op

runs: list[str] = []


class Memory:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.count = 0


@dataclasses.dataclass
class Tally:
    notes: list[str] = dataclasses.field(default_factory=list)
    count: int = 0


@op(effect=True)
def remember(store: Any, x: int) -> int:
    """Changes what it is given, in place: an effect op (runs on the caller's objects)."""
    runs.append(f"remember{x}")
    if isinstance(store, Memory | Tally):
        store.notes.append(f"n{x}")
        store.count += 1
        return store.count
    if isinstance(store, dict):
        store[f"k{x}"] = x
    elif isinstance(store, set):
        store.add(x)
    else:
        store.append(x)
    return len(store)


@op
def text(x: int) -> str:
    time.sleep(0.01)
    return str(x)


def _without_source(kind: str) -> Any:
    """Glue compiled from a string (no source: a rejected lazy value reruns it), making
    the object it hands to the effect op afresh on each run."""
    body = (
        "def glue(x):\n"
        f"    store = {kind}\n"
        "    size = remember(store, x)\n"
        "    label = text(x)\n"
        "    joined = '-'.join([label, 'a'])\n"  # C code rejects the lazy label: rerun
        "    return size, joined, store\n")
    namespace = {"remember": remember, "text": text, "Memory": Memory, "Tally": Tally,
                 "collections": collections}
    exec(compile(body, "<generated>", "exec"), namespace)
    return namespace["glue"]


def _shown(result: tuple[Any, ...]) -> tuple[Any, ...]:
    *values, store = result
    return (*values, vars(store) if isinstance(store, Memory | Tally) else repr(store))


@pytest.mark.parametrize("kind", ["[]", "{}", "set()", "collections.deque()", "Memory()",
                                  "Tally()"])
def test_a_rerun_gives_the_objects_it_made_again_the_change_of_the_op_it_reuses(
        kind: str) -> None:
    glue = _without_source(kind)
    fast = jit(glue)
    for x in (1, 2):
        runs.clear()
        expected = _shown(glue(x))
        assert runs == [f"remember{x}"]
        runs.clear()
        assert _shown(fast(x)) == expected
        assert runs == [f"remember{x}"]
    assert get_jit_stats(fast)["reruns"] >= 1


@dataclasses.dataclass(slots=True)
class SlottedTally:
    notes: list[int] = dataclasses.field(default_factory=list)
    count: int = 0


class SlottedMemory:
    __slots__ = ("notes", "count")

    def __init__(self) -> None:
        self.notes: list[int] = []
        self.count = 0


@op(effect=True)
def note(store: Any, x: int) -> int:
    """Changes a record (slots, no ``__dict__``), an array, or a list inside a tuple."""
    runs.append(f"note{x}")
    if isinstance(store, tuple):
        store = store[0]
    if isinstance(store, SlottedTally | SlottedMemory):
        store.notes.append(x)
        store.count += 1
        return store.count
    store.append(x)
    return len(store)


@pytest.mark.parametrize("kind", ["SlottedTally()", "SlottedMemory()", "array.array('i')",
                                  "([],)", "(SlottedTally(),)"])
def test_a_rerun_replays_the_change_on_slotted_records_arrays_and_tuples(kind: str) -> None:
    """`@dataclass(slots=True)`, a class with ``__slots__``, an ``array.array`` and a
    tuple holding the changed object: the op runs once and the rerun's objects get its
    change, as in plain Python's one run."""
    import array

    body = ("def glue(x):\n"
            f"    store = {kind}\n"
            "    size = note(store, x)\n"
            "    joined = '-'.join([text(x), 'a'])\n"  # C code rejects the lazy: rerun
            "    return size, joined, store\n")
    namespace = {"note": note, "text": text, "SlottedTally": SlottedTally,
                 "SlottedMemory": SlottedMemory, "array": array}
    exec(compile(body, "<generated>", "exec"), namespace)
    glue = namespace["glue"]

    def shown(result: tuple[Any, ...]) -> tuple[Any, ...]:
        *values, store = result
        inner = store[0] if isinstance(store, tuple) else store
        state = (inner.notes, inner.count) if isinstance(inner, SlottedMemory) else inner
        return (*values, repr(state))

    fast = jit(glue)
    for x in (1, 2):
        runs.clear()
        expected = shown(glue(x))
        assert runs == [f"note{x}"]
        runs.clear()
        assert shown(fast(x)) == expected
        assert runs == [f"note{x}"]
    assert get_jit_stats(fast)["reruns"] >= 1
