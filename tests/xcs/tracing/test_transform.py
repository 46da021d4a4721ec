"""Sites of the glue where Python itself reads an op result get its real object
(``tracing.transform``): what the program computes, and what it raises, is plain
Python's."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op


@op
def pick_base(kind: str) -> type:
    time.sleep(0.002)
    return dict if kind == "map" else list


@op
async def apick_base(kind: str) -> type:
    await asyncio.sleep(0.002)
    return dict if kind == "map" else list


@op
def pick_bases(kind: str) -> tuple[type, ...]:
    return (dict,) if kind == "map" else (list,)


def class_over_an_op_result(kind: str) -> tuple[str, bool]:
    base = pick_base(kind)

    class Store(base):  # type: ignore[valid-type,misc]
        pass

    return Store.__mro__[1].__name__, isinstance(Store(), base)


def class_over_unpacked_op_results(kind: str) -> tuple[str, str]:
    bases = pick_bases(kind)

    class Store(*bases):  # type: ignore[misc]
        pass

    class Other(*[pick_base(kind)]):  # type: ignore[misc]
        pass

    return Store.__mro__[1].__name__, Other.__mro__[1].__name__


async def async_class_over_op_results(kind: str) -> tuple[str, str]:
    awaited = await apick_base(kind)
    called = pick_base(kind)

    class Store(awaited):  # type: ignore[valid-type,misc]
        pass

    class Other(called):  # type: ignore[valid-type,misc]
        pass

    return Store.__mro__[1].__name__, Other.__mro__[1].__name__


@pytest.mark.parametrize("program", [class_over_an_op_result, class_over_unpacked_op_results],
                         ids=lambda program: program.__name__)
def test_a_class_statement_gets_the_real_base_classes(program: Any) -> None:
    jitted = jit(program)
    for kind in ("map", "list", "map"):
        assert jitted(kind) == program(kind)


def test_a_class_statement_in_async_glue_gets_the_real_base_classes() -> None:
    jitted = jit(async_class_over_op_results)
    for kind in ("map", "list"):
        assert asyncio.run(jitted(kind)) == asyncio.run(async_class_over_op_results(kind))


class EnterOnly:
    def __enter__(self) -> str:
        return "entered"


@op
def make_context(kind: str) -> Any:
    time.sleep(0.002)
    if kind == "none":
        return None
    if kind == "enter only":
        return EnterOnly()
    return contextlib.nullcontext(kind.upper())


def with_an_op_result(kind: str) -> str:
    context = make_context(kind)
    with context as value:
        return f"got {value}"


def outcome(program: Any, *args: Any) -> tuple[str, str]:
    try:
        return "value", repr(program(*args))
    except Exception as error:  # the program's own error, compared by type and message
        return type(error).__name__, str(error)


@pytest.mark.parametrize("kind", ["ok", "none", "enter only"])
def test_with_over_an_op_result_enters_the_real_object(kind: str) -> None:
    jitted = jit(with_an_op_result)
    expected = outcome(with_an_op_result, kind)
    assert outcome(jitted, kind) == expected
    assert outcome(jitted, kind) == expected  # later calls too


@op
def pair(key: str) -> Any:
    time.sleep(0.002)
    return None if key == "none" else (key, len(key))


@op
def count(key: str) -> Any:
    return len(key)


def loop_unpacking(keys: list[str]) -> list[Any]:
    out = []
    for a, b in [pair(k) for k in keys]:
        out.append((a, b))
    return out


def growing_worklist_unpacking(keys: list[str]) -> list[Any]:
    pending: list[Any] = [("start", 0)]
    out = []
    for a, b in pending:  # plain values at first; the loop appends op results
        out.append((a, b))
        if b < len(keys):
            pending.append(pair(keys[b]))
    return out


def comprehension_unpacking(keys: list[str]) -> list[Any]:
    return [f"{a}={b}" for a, b in (pair(k) for k in keys)]


def nested_unpacking(keys: list[str]) -> list[Any]:
    return [(i, a, b) for i, (a, b) in enumerate(pair(k) for k in keys)]


def starred_nested_unpacking(keys: list[str]) -> list[Any]:
    rows = [("row", *keys[:1], pair(k)) for k in keys]
    return [(head, rest, a) for head, *rest, (a, _) in rows]


def star_in_displays(key: str) -> Any:
    n = count(key) if key != "pair" else pair(key)
    return [*n], (*n,), {*n}


async def async_unpacking(keys: list[str]) -> list[Any]:
    out = [a for a, _ in (pair(k) for k in keys)]
    async for a, b in _pairs(keys):
        out.append((a, b))
    return out


async def _pairs(keys: list[str]) -> Any:
    for key in keys:
        yield pair(key)


@pytest.mark.parametrize("program", [loop_unpacking, comprehension_unpacking, nested_unpacking,
                                     starred_nested_unpacking, growing_worklist_unpacking],
                         ids=lambda program: program.__name__)
@pytest.mark.parametrize("keys", [["a", "bb"], ["a", "none"]])
def test_unpacking_loop_items_gives_plain_results_and_errors(program: Any,
                                                             keys: list[str]) -> None:
    jitted = jit(program)
    expected = outcome(program, keys)
    assert outcome(jitted, keys) == expected
    assert outcome(jitted, keys) == expected


@pytest.mark.parametrize("key", ["abc", "pair"])
def test_a_starred_op_result_in_a_display_gives_plain_results_and_errors(key: str) -> None:
    assert outcome(jit(star_in_displays), key) == outcome(star_in_displays, key)


@pytest.mark.parametrize("keys", [["a", "bb"], ["a", "none"]])
def test_unpacking_loop_items_in_async_glue(keys: list[str]) -> None:
    def run(program: Any) -> tuple[str, str]:
        return outcome(lambda: asyncio.run(program(keys)))

    assert run(jit(async_unpacking)) == run(async_unpacking)


def test_unpacking_real_items_holding_op_results_keeps_ops_parallel() -> None:
    @jit
    def lengths(keys: list[str]) -> list[Any]:
        found = {key: count(key) for key in keys}
        return [(key, n + 1) for key, n in found.items()] + \
            [(i, n) for i, (key, n) in enumerate(found.items())]

    assert lengths(["a", "bb"]) == [("a", 2), ("bb", 3), (0, 1), (1, 2)]
    assert get_jit_stats(lengths)["barriers"] == []


@op
def replies(key: str) -> list[str]:
    time.sleep(0.002)
    return [key, key + "!"]


@op
def one_reply(key: str) -> tuple[str, ...]:
    return (key,)


@op
def tags(key: str) -> set[str]:
    return {key}


@op
def twice(key: str) -> int:
    return 2


class Chat:
    def __init__(self) -> None:
        self.history: list[str] = []


def extended_in_place(keys: list[str]) -> Any:
    history: list[str] = []
    alias = history
    chat = Chat()
    held = chat.history
    queue: collections.deque[str] = collections.deque()
    seen: set[str] = set()
    seen_alias = seen
    for key in keys:
        history += replies(key)
        history += one_reply(key)
        chat.history += replies(key)
        queue += replies(key)
        seen |= tags(key)
    repeated = [keys[0]]
    repeated_alias = repeated
    repeated *= twice(keys[0])
    return alias, history is alias, held, list(queue), sorted(seen_alias), repeated_alias


async def async_extended_in_place(keys: list[str]) -> Any:
    history: list[str] = []
    alias = history
    for key in keys:
        history += replies(key)
    return alias, history is alias


def test_a_list_extended_by_an_op_result_is_changed_in_place() -> None:
    jitted = jit(extended_in_place)
    for keys in (["a", "b"], ["c"]):
        assert jitted(keys) == extended_in_place(keys)


def test_async_glue_extends_a_list_in_place_too() -> None:
    jitted = jit(async_extended_in_place)
    assert asyncio.run(jitted(["a", "b"])) == asyncio.run(async_extended_in_place(["a", "b"]))


class LoggedChat:
    """A chat whose history is a property: its reads and writes are logged."""

    def __init__(self) -> None:
        self._history: list[str] = []
        self.log: list[str] = []

    @property
    def history(self) -> list[str]:
        self.log.append("get")
        return self._history

    @history.setter
    def history(self, value: list[str]) -> None:
        self.log.append("set")
        self._history = value


def extend_a_property(chat: LoggedChat, keys: list[str]) -> Any:
    held = chat.history
    for key in keys:
        chat.history += replies(key)
    return held, chat.history is held, chat.log


async def aextend_a_property(chat: LoggedChat, keys: list[str]) -> Any:
    held = chat.history
    for key in keys:
        chat.history += await areplies(key)
    return held, chat.history is held, chat.log


@op
async def areplies(key: str) -> list[str]:
    await asyncio.sleep(0.002)
    return [key]


def test_a_property_extended_by_an_op_result_is_read_as_often_as_in_plain_python() -> None:
    jitted, ajitted = jit(extend_a_property), jit(aextend_a_property)
    for keys in (["a", "b"], ["c"]):
        assert jitted(LoggedChat(), keys) == extend_a_property(LoggedChat(), keys)
        assert asyncio.run(ajitted(LoggedChat(), keys)) \
            == asyncio.run(aextend_a_property(LoggedChat(), keys))


def test_adding_op_results_to_numbers_keeps_them_parallel() -> None:
    @jit
    def total(keys: list[str]) -> int:
        sum_of = 0
        for key in keys:
            sum_of += count(key)
        return sum_of

    assert total(["a", "bb", "ccc"]) == 6
    assert get_jit_stats(total)["barriers"] == []
