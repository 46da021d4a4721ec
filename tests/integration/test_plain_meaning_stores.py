"""Stores of op results into objects whose class runs code of its own on the store.

``obj.name = reply`` through a ``__setattr__`` of the class, a property's setter or a
descriptor's ``__set__``, and ``obj[key] = reply`` through a ``__setitem__`` written in
Python (a dict subclass's too), run that code at the store, where it reads what it is
given: ``type(value) is str`` holds for it as in plain Python, so the store waits for
the op. Each program runs plainly and jitted, in sync and ``async def`` glue, and must
give the same value or exception.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import pytest

from ember.api.operators import Operator
from ember.xcs import jit, op


@op
def reply(key: str) -> str:
    time.sleep(0.003)
    return key.upper()


def _checked(name: str, value: object) -> object:
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    return value


class Typed:
    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, _checked(name, value))


class WithSetter:
    def __init__(self) -> None:
        self._text: object = ""

    @property
    def text(self) -> object:
        return self._text

    @text.setter
    def text(self, value: object) -> None:
        self._text = _checked("text", value)


class Checked:
    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: object, owner: type | None = None) -> object:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: object, value: object) -> None:
        setattr(obj, self.slot, _checked(self.slot, value))


class WithDescriptor:
    text = Checked()


class Row:
    def __setitem__(self, key: str, value: object) -> None:
        self.__dict__[key] = _checked(key, value)


class TypedDict(dict[str, object]):
    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, _checked(key, value))


def by_setattr(key: str) -> object:
    holder = Typed()
    holder.text = reply(key)
    return holder.text


def by_property(key: str) -> object:
    holder = WithSetter()
    holder.text = reply(key)
    return holder.text


def by_descriptor(key: str) -> object:
    holder = WithDescriptor()
    holder.text = reply(key)
    return holder.text


def by_setitem(key: str) -> object:
    row = Row()
    row["text"] = reply(key)
    return row.text  # type: ignore[attr-defined]


def by_dict_subclass(key: str) -> object:
    table = TypedDict()
    table["text"] = reply(key)
    return table["text"]


PROGRAMS = [by_setattr, by_property, by_descriptor, by_setitem, by_dict_subclass]


def _outcome(fn: Callable[[str], Any], key: str) -> object:
    try:
        return fn(key)
    except TypeError as error:
        return f"TypeError: {error}"


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_a_store_running_the_classs_code_gives_it_the_value(program) -> None:
    jitted = jit(program)
    for key in ("a", "bc", "a"):
        assert _outcome(jitted, key) == _outcome(program, key) == key.upper()


def test_async_glue_stores_values_through_the_classs_code() -> None:
    async def store(key: str) -> object:
        holder = Typed()
        holder.text = reply(key)
        table = TypedDict()
        table["text"] = reply(key + "!")
        return holder.text, table["text"]

    assert asyncio.run(jit(store)("q")) == asyncio.run(store("q")) == ("Q", "Q!")


def test_plain_attributes_and_slots_still_store_without_waiting() -> None:
    class Slotted:
        __slots__ = ("text",)

    class Open:
        text: object = None

    class Step(Operator):  # Operator.__setattr__ only checks that it is not frozen
        def __init__(self, text: object) -> None:
            self.text = text

        def forward(self, x: str) -> str:
            return x

    @op
    def slow(key: str) -> str:
        time.sleep(0.05)
        return key

    @jit
    def overlapping(keys: list[str]) -> list[object]:
        holders: list[Any] = []
        for key in keys:
            holder = Slotted() if key < "c" else Open()
            holder.text = slow(key)
            holders.append(holder if key < "e" else Step(slow(key)))
        return [h.text for h in holders]

    started = time.perf_counter()
    assert overlapping(list("abcdef")) == list("abcdef")
    assert time.perf_counter() - started < 0.2  # six 50 ms ops overlapped (0.3 s in turn)


@op
def answer(key: str) -> str:
    time.sleep(0.01)
    if key.startswith("refuse"):
        raise ValueError(f"refused {key}")
    return key.upper()


class Slotted:
    __slots__ = ("last", "first")

    def __init__(self) -> None:
        self.last = "init"


def remember(agent: Any, keys: list[str]) -> None:
    agent.first = answer(keys[0])
    for key in keys[1:]:
        agent.last = answer(key)  # the glue runs ahead: stored before the op fails


def _closure() -> tuple[Callable[[list[str]], None], Callable[[], object]]:
    last, first = "init", "unbound"
    del first  # bound by the first run only

    def run(keys: list[str]) -> None:
        nonlocal last, first
        first = answer(keys[0])
        for key in keys[1:]:
            last = answer(key)

    def read() -> object:
        return last, first  # noqa: F821 - unbound until run() binds it

    return run, read


def _state(read: Callable[[], object]) -> object:
    try:
        value = read()
    except (AttributeError, NameError) as error:
        return type(error).__name__
    return value, [type(item) for item in value] if isinstance(value, tuple) else type(value)


@pytest.mark.parametrize("keys", [["a", "b", "refuse"], ["refuse"], ["a", "b"],
                                  ["a", "refuse", "refuse again"], ["refuse", "refuse again"]])
def test_a_slot_or_nonlocal_bound_to_a_value_that_never_came_is_undone(keys) -> None:
    def slots(fn: Callable[..., None]) -> object:
        agent = Slotted()
        with pytest.raises(ValueError) if "refuse" in keys else _nothing():
            fn(agent, keys)
        return _state(lambda: (agent.last, agent.first)), _state(lambda: agent.last)

    def cells(jitted: bool) -> object:
        run, read = _closure()
        with pytest.raises(ValueError) if "refuse" in keys else _nothing():
            (jit(run) if jitted else run)(keys)
        return _state(read)

    assert slots(jit(remember)) == slots(remember)
    assert cells(jitted=True) == cells(jitted=False)


def by_update(state: dict[str, object], agent: Any, keys: list[str]) -> None:
    for key in keys:
        state.update({"reply": answer(key)}, asked=answer(key))


def by_pairs(state: dict[str, object], agent: Any, keys: list[str]) -> None:
    for key in keys:
        state.update([("reply", answer(key))])


def by_merge(state: dict[str, object], agent: Any, keys: list[str]) -> None:
    for key in keys:
        state |= {"reply": answer(key)}


def by_instance_dict(state: dict[str, object], agent: Any, keys: list[str]) -> None:
    for key in keys:
        agent.__dict__.update(last=answer(key))


async def by_merge_async(state: dict[str, object], agent: Any, keys: list[str]) -> None:
    for key in keys:
        state |= {"reply": answer(key)}
        state.update(asked=answer(key))


@pytest.mark.parametrize("program", [by_update, by_pairs, by_merge, by_instance_dict,
                                     by_merge_async], ids=lambda p: p.__name__)
def test_a_dict_update_of_a_value_that_never_came_gives_back_what_it_replaced(program) -> None:
    class Agent:
        def __init__(self) -> None:
            self.last = "init"

    def state(fn: Callable[..., Any]) -> object:
        memory: dict[str, object] = {"reply": "init", "asked": "init"}
        agent = Agent()
        with pytest.raises(ValueError):
            outcome = fn(memory, agent, ["a", "b", "refuse"])
            if asyncio.iscoroutine(outcome):
                asyncio.run(outcome)
        return memory, vars(agent)

    assert state(jit(program)) == state(program)


@pytest.mark.parametrize("keys", [["a", "refuse", "refuse again"], ["refuse", "refuse again"]])
def test_several_stores_of_values_that_never_came_give_back_the_first_ones_before(keys) -> None:
    class Agent:
        def __init__(self) -> None:
            self.last = "init"

    def remember(agent: Agent, memory: dict[str, object], keys: list[str]) -> None:
        for key in keys:  # the glue runs ahead: every store happens before the failures
            agent.last = answer(key)
            memory["last"] = answer(key)

    def state(fn: Callable[..., Any]) -> object:
        agent, memory = Agent(), {"last": "init"}
        with pytest.raises(ValueError):
            fn(agent, memory, keys)
        return vars(agent), memory

    assert state(jit(remember)) == state(remember)


def test_an_item_stored_at_a_negative_index_or_into_a_deque_comes_back() -> None:
    def remember(rows: list[object], recent: collections.deque[object], keys: list[str]) -> None:
        for key in keys:
            rows[-1] = answer(key)
            recent[0] = answer(key)

    def state(fn: Callable[..., Any]) -> object:
        rows: list[object] = ["first", "init"]
        recent: collections.deque[object] = collections.deque(["init", "older"])
        with pytest.raises(ValueError):
            fn(rows, recent, ["a", "refuse"])
        return rows, list(recent)

    assert state(jit(remember)) == state(remember) == (["first", "A"], ["A", "older"])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class Box:
    __slots__ = "content"  # one slot, named by a str

    def __init__(self, content: object) -> None:
        self.content = content


class SealedBox(Box):
    __slots__ = ("__key",)  # stored as _SealedBox__key

    def __init__(self, content: object, key: object) -> None:
        super().__init__(content)
        self.__key = key

    def key(self) -> object:
        return self.__key


@op
def draft(x: int) -> int:
    time.sleep(0.01)
    return x * 2


@op
def unpack(box: SealedBox) -> tuple[str, object, str, object]:
    return type(box.content).__name__, box.content, type(box.key()).__name__, box.key()


def boxed(x: int) -> object:
    return unpack(SealedBox(draft(x), draft(x + 1)))


def test_an_op_given_an_object_reads_values_from_str_and_private_slots() -> None:
    """``__slots__ = "content"`` (one name, not its letters) and ``__key`` (stored under
    its mangled name) hold op results: the op body reads their values, as in plain
    Python, not lazy ones."""
    fast = jit(boxed)
    for x in (3, 4):  # first and later calls
        assert fast(x) == boxed(x) == ("int", 2 * x, "int", 2 * x + 2)
