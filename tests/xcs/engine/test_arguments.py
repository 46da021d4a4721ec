"""Ops that change their arguments in place: loud under @jit, plain for effect ops."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from typing import Any

import pytest

from ember.xcs import ArgumentChangedError, jit, op


@op
def append_seen(items: Any) -> int:
    items.append("seen")
    return len(items)


@op
def read_only(items: Any) -> int:
    time.sleep(0.01)
    return len(items)


@op
def words(text: str) -> list[str]:
    time.sleep(0.01)
    return text.split()


def test_an_op_changing_a_list_argument_fails_loudly_naming_op_and_call_site() -> None:
    @jit
    def tagged() -> tuple[int, list[str]]:
        tags = ["new"]
        count = append_seen(tags)
        return count, tags

    with pytest.raises(ArgumentChangedError) as caught:
        tagged()
    message = str(caught.value)
    assert "'append_seen'" in message and "changed a list" in message
    assert f"{__file__}:" in message and "effect=True" in message
    with pytest.raises(ArgumentChangedError):
        tagged()  # every call, not only the first


@pytest.mark.parametrize("make, change", [
    (lambda: {"n": 0}, lambda d: d.update(n=1)),
    (lambda: {"n": 0}, lambda d: d.pop("n")),
    (lambda: {1, 2}, lambda s: s.add(3)),
    (lambda: collections.deque([1]), lambda q: q.appendleft(0)),
    (lambda: ([1], "x"), lambda t: t[0].append(2)),             # a list inside a tuple
    (lambda: {"log": []}, lambda d: d["log"].append("x")),      # a list inside a dict
    (lambda: [[1], [2]], lambda rows: rows[1].sort(reverse=True) or rows[1].append(0)),
    (lambda: [3, 1, 2], lambda xs: xs.sort()),                   # same items, new order
    (lambda: {"a": 1}, lambda d: d.__setitem__("a", 2)),        # same keys, new value
])
def test_every_kind_of_copied_container_is_watched(make: Any, change: Any) -> None:
    @op
    def changes(value: Any) -> str:
        change(value)
        return "done"

    @jit
    def program() -> Any:
        value = make()
        return changes(value), value

    change(make())  # the change itself works in plain Python
    with pytest.raises(ArgumentChangedError):
        program()


def test_an_async_op_changing_its_argument_fails_loudly() -> None:
    @op
    async def record(log: list[str]) -> str:
        await asyncio.sleep(0.001)
        log.append("called")
        return "ok"

    @jit
    def program() -> tuple[str, list[str]]:
        log: list[str] = []
        return record(log), log

    with pytest.raises(ArgumentChangedError, match="'record'"):
        program()


def test_an_earlier_ops_value_is_shared_not_copied_as_in_plain_python() -> None:
    @op
    def rerank(items: list[str]) -> list[str]:
        items.sort(reverse=True)  # changes the earlier op's value itself
        return items

    @op
    def count(items: list[str]) -> int:
        time.sleep(0.01)
        return len(items)

    def program() -> tuple[Any, ...]:
        found = words("a c b")
        ranked = rerank(found)
        return count(found), ranked is found, found

    assert jit(program)() == program() == (3, True, ["c", "b", "a"])


def test_an_op_in_a_try_block_gets_the_callers_own_objects() -> None:
    @op
    def enrich(record: dict[str, Any]) -> bool:
        record["score"] = 0.9
        return True

    def handle(record: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        try:
            ok = enrich(record)   # runs at its call site: the glue waits for it
        except Exception:
            ok = False
        return ok, record

    assert jit(handle)({"id": 1}) == handle({"id": 1}) == (True, {"id": 1, "score": 0.9})


def test_containers_are_read_from_their_storage_not_their_methods() -> None:
    class Copying(dict):  # type: ignore[type-arg]
        def values(self) -> Any:
            return [list(v) if isinstance(v, list) else v for v in super().values()]

    @op
    def names(table: Copying) -> list[str]:
        return sorted(table)

    assert jit(lambda: names(Copying(models=[1], limits=[2])))() == ["limits", "models"]


def test_a_deeply_nested_earlier_value_reaches_the_next_op() -> None:
    @op
    def nest(levels: int) -> list[Any]:
        nested: list[Any] = []
        for _ in range(levels):
            nested = [nested]
        return nested

    @op
    def depth(value: Any) -> int:
        count = 0
        while value:
            value, count = value[0], count + 1
        return count

    assert jit(lambda: [depth(nest(5000))])() == [5000]


def test_ops_that_only_read_their_arguments_are_unaffected() -> None:
    @jit
    def program(texts: list[str]) -> list[int]:
        parts = [words(text) for text in texts]
        return [read_only([part, {"k": part}, (part,)]) for part in parts]

    assert program(["a b", "c"]) == [3, 3]


def test_the_users_exception_wins_over_the_change() -> None:
    @op
    def change_then_fail(items: list[int]) -> None:
        items.append(1)
        raise KeyError("boom")

    @jit
    def program() -> None:
        change_then_fail([])

    with pytest.raises(KeyError, match="boom"):
        program()


@dataclasses.dataclass
class Counter:
    n: int = 0


def test_objects_of_user_classes_are_shared_not_copied() -> None:
    @op
    def bump(counter: Counter) -> int:
        counter.n += 1
        return counter.n

    def program(counter: Counter) -> int:
        return bump(counter)

    counter = Counter()
    assert jit(program)(counter) == 1 and counter.n == 1  # the change reached the caller's object


def test_an_effect_op_changing_a_users_object_is_seen_by_the_next_line() -> None:
    @op(effect=True)
    def bump(counter: Counter) -> int:
        counter.n += 1
        return counter.n

    def program() -> tuple[int, int]:
        counter = Counter()
        first = bump(counter)
        return first, counter.n

    assert jit(program)() == program() == (1, 1)


def test_an_effect_op_changes_the_callers_own_objects_as_plain_python_does() -> None:
    @op(effect=True)
    def count_into(state: dict[str, Any], item: str) -> int:
        state["n"] += 1
        state["items"].append(item)
        return state["n"]

    def program(texts: list[str]) -> tuple[Any, ...]:
        state: dict[str, Any] = {"n": 0, "items": []}
        found = [words(text) for text in texts]          # concurrent lazies
        counts = [count_into(state, part[0]) for part in found]
        holder = [found[0]]                              # a lazy inside the argument
        count_into(state, holder[0][-1])
        return counts, state, state["n"]

    assert jit(program)(["a b", "c d"]) == program(["a b", "c d"]) \
        == ([1, 2], {"n": 3, "items": ["a", "c", "b"]}, 3)


def test_an_effect_op_receives_containers_holding_lazy_values_resolved() -> None:
    seen: list[Any] = []

    @op(effect=True)
    def keep(batch: list[Any]) -> None:
        seen.append([type(item).__name__ for item in batch])
        batch.append("kept")

    def program() -> list[Any]:
        batch = [words("x y"), words("z")]
        keep(batch)
        return batch

    assert jit(program)() == program() == [["x", "y"], ["z"], "kept"]
    assert seen == [["list", "list"], ["list", "list"]]


def test_outside_jit_an_op_is_a_plain_call() -> None:
    tags = ["new"]
    assert append_seen(tags) == 2 and tags == ["new", "seen"]


def _append_seen_body(items: list[str]) -> int:
    items.append("seen")
    return len(items)


append_seen_shipped = op(_append_seen_body)  # module level: process workers can load it


@pytest.mark.parametrize("executor", ["thread", "sync", "pool", "process"])
def test_every_executor_checks_the_arguments(executor: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ember.xcs import Config

    chosen: Any = ThreadPoolExecutor(2) if executor == "pool" else executor
    try:
        program = jit(lambda: append_seen_shipped(["new"]), config=Config(executor=chosen))
        with pytest.raises(ArgumentChangedError, match="_append_seen_body"):
            program()
    finally:
        if executor == "pool":
            chosen.shutdown()


@op
def count_of(counts: Any, key: str) -> int:
    return counts[key]  # a missing key of a defaultdict: reading it inserts it


def test_reading_a_missing_defaultdict_key_is_a_change_and_the_error_says_why() -> None:
    @jit
    def tally() -> int:
        return count_of(collections.defaultdict(int), "missing")

    with pytest.raises(ArgumentChangedError, match="reading a missing key of a defaultdict"):
        tally()

    @jit
    def present() -> int:
        return count_of(collections.defaultdict(int, {"here": 2}), "here")

    assert present() == 2  # a key that exists: a read, nothing changed


@op
def validated(rows: Any) -> Any:
    time.sleep(0.01)
    return rows


@op
def wrapped(rows: Any, meta: Any) -> Any:
    time.sleep(0.01)
    return {"rows": rows, "meta": meta, "pair": (rows, 1), "nested": [[rows]]}


def hands_back(data: list[Any], meta: dict[str, Any]) -> tuple[Any, ...]:
    clean = validated(data)
    box = wrapped(data, meta)
    data.append("late")  # the caller's list changes while the ops run
    return (clean is data, box["rows"] is data, box["meta"] is meta,
            box["pair"][0] is data, box["nested"][0][0] is data, clean, box)


def test_an_op_handing_back_its_argument_gives_the_callers_object() -> None:
    """The op body got a copy of the list; what it returns is the caller's list again."""
    fast = jit(hands_back)
    for _ in range(2):  # first and later calls
        plain = hands_back(["a"], {"k": []})
        assert fast(["a"], {"k": []}) == plain
        assert plain[:5] == (True,) * 5


def test_an_op_handing_back_its_argument_inside_a_record_keeps_it() -> None:
    @op
    def first(rows: list[list[str]]) -> list[str]:
        time.sleep(0.01)
        return rows[0]  # an inner list: copied for the op too

    @jit
    def pick(rows: list[list[str]]) -> bool:
        head = first(rows)
        head.append("x")
        return rows[0] == ["a", "x"] and head is rows[0]

    assert pick([["a"]]) is True
    assert pick([["a"]]) is True


@op
def tag(text: str) -> str:
    """An earlier op whose value sits beside the container handed back."""
    time.sleep(0.01)
    return text.upper()


def test_an_op_handing_back_its_argument_beside_an_earlier_ops_value_gives_the_callers_object(
) -> None:
    @op
    def keep(rows: list[int], label: str) -> list[int]:
        return rows

    def f(rows: list[int]) -> tuple[bool, list[int]]:
        kept = keep(rows, tag("a"))  # an input from an earlier op beside the list
        kept.append(3)
        return kept is rows, rows

    fast = jit(f)
    for _ in range(2):  # first and later calls
        assert fast([1, 2]) == f([1, 2]) == (True, [1, 2, 3])


def test_an_op_handing_back_a_container_holding_an_earlier_ops_value_gives_the_callers_object(
) -> None:
    @op
    def keep(batch: Any) -> Any:
        return batch

    def f(label: str) -> tuple[bool, bool, Any]:
        batch = {"label": tag(label), "rows": []}
        kept = keep(batch)  # the dict holds the value of an earlier op
        kept["rows"].append(1)
        messages = ["hi", tag(label)]
        same = keep(messages)
        same.append("bye")
        return kept is batch, same is messages, (batch, messages)

    fast = jit(f)
    for label in ("a", "b"):  # first and later calls
        assert fast(label) == f(label)
        assert f(label)[:2] == (True, True)


def test_an_effect_op_in_a_graph_is_not_watched() -> None:
    from ember.xcs.engine.arguments import watch
    from ember.xcs.engine.state import Run
    from ember.xcs.engine.task import Task
    from ember.xcs.ir import NodeKind
    from ember.xcs.ops import Op

    def task(effect: bool) -> Task:
        return Task(Run(), NodeKind.OP, "enqueue", None, ([],), {}, (),
                    op=Op(lambda queue: queue, effect=effect), shares=effect)

    assert watch(task(effect=False), ([],), {}) is not None
    assert watch(task(effect=True), ([],), {}) is None  # it runs alone, on the caller's objects
