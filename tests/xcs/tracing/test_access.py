"""Op results used as indexes, read through special attributes, and unpacked: under
@jit the real object is used at those sites, so results and error messages are those
of plain Python (the proxy's ``__index__``, its own ``__doc__``, or its iteration
would give something else)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ember.xcs import jit, op


@op
def given(value: Any) -> Any:
    time.sleep(0.002)
    return value


def search(query: str) -> str:
    """Search the web for a query."""
    return query


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        value = fn(*args)
    except Exception as error:  # noqa: BLE001  # compared, type and message
        return type(error).__name__, str(error)
    if isinstance(value, np.ndarray):
        return "array", (value.shape, value.tolist())
    return "value", value


def same_as_plain(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> None:
    fast = jit(fn)
    for args in calls:  # first and later calls, with changing inputs
        assert outcome(fast, *args) == outcome(fn, *args), args


def test_slice_bounds_from_ops_may_be_none() -> None:
    def window(limit: Any, start: Any, step: Any) -> Any:
        docs = ["a", "b", "c", "d"]
        return docs[:given(limit)], "abcd"[given(start):], docs[::given(step)]

    same_as_plain(window, (None, None, None), (2, 1, 2), (None, 3, -1))


def test_a_slice_object_from_an_op_indexes_a_list() -> None:
    def rows_from(start: Any) -> Any:
        rows = [1, 2, 3]
        return rows[slice(given(start), None)], rows[given(slice(None, start))]

    same_as_plain(rows_from, (1,), (2,), (None,))


def test_indexes_of_the_wrong_type_raise_the_containers_own_error() -> None:
    def pick(choice: Any) -> Any:
        return ["a", "b"][given(choice)]

    def letter(choice: Any) -> Any:
        return "ab"[given(choice)]

    same_as_plain(pick, (1,), ("1",), (1.0,), (None,), (2 ** 70,))
    same_as_plain(letter, ("1",), (0,))


def test_numpy_indexes_from_ops_keep_their_meaning() -> None:
    def grid_at(cell: Any) -> Any:
        grid = np.arange(12).reshape(3, 4)
        return grid[given(cell)]

    def field(name: str) -> Any:
        table = np.array([(1, 2.0)], dtype=[("x", "i4"), ("y", "f8")])
        return table[given(name)]

    same_as_plain(grid_at, ((1, 2),), (None,), (True,), (1,))
    same_as_plain(field, ("x",), ("y",))


def test_special_attributes_of_an_op_result_are_the_values_own() -> None:
    def describe(tool: Any) -> Any:
        picked = given(tool)
        return (picked.__doc__, picked.__module__, picked.__name__,
                picked.__class__.__name__)

    def hashable(value: Any) -> Any:
        return given(value).__hash__ is None

    same_as_plain(describe, (search,), (len,))
    same_as_plain(hashable, ([1],), ((1,),))


def test_explicit_special_method_calls_are_the_values_methods() -> None:
    def calls(text: Any) -> Any:
        reply = given(text)
        return reply.__eq__(1.0), reply.__len__(), reply.__getitem__(0)

    def missing(text: Any) -> Any:
        return given(text).__radd__("x")

    same_as_plain(calls, ("abc",), ("z",))
    same_as_plain(missing, ("abc",))


def test_unpacking_an_op_result_fails_with_plain_pythons_message() -> None:
    def head(value: Any) -> Any:
        first, *rest = given(value)
        return first, rest

    def pair(value: Any) -> Any:
        a, b = given(value)
        return a, b

    same_as_plain(head, (None,), ([1, 2, 3],), (7,))
    same_as_plain(pair, (None,), ((1, 2),), ([1, 2, 3],))


def test_ops_used_as_indexes_of_op_results_keep_parallel_calls() -> None:
    @op
    def slow(value: Any) -> Any:
        time.sleep(0.05)
        return value

    @jit
    def fan(n: int) -> list[Any]:
        rows = [slow([i, i + 1]) for i in range(n)]
        return [row[1] for row in rows]  # a literal index: lifted, nothing waits

    start = time.perf_counter()
    assert fan(8) == [i + 1 for i in range(8)]
    assert time.perf_counter() - start < 0.3


@pytest.mark.parametrize("index", [0, -1])
def test_an_index_computed_in_the_glue_still_reads_lazily(index: int) -> None:
    @jit
    def last(values: list[int]) -> Any:
        doubled = given([v * 2 for v in values])
        return doubled[index]

    assert last([1, 2, 3]) == [2, 4, 6][index]


def test_annotations_in_jitted_code_stay_as_written() -> None:
    """With PEP 563 annotations are text that code reads (dataclasses, pydantic,
    typing.get_type_hints): the rewriting leaves them alone."""
    import dataclasses
    import typing

    def build(n: int) -> Any:
        @dataclasses.dataclass
        class Row:
            items: list[int]
            meta: dict[str, int]

        def helper(values: list[int]) -> dict[str, int]:
            return {}

        local: dict[str, int] = {}
        row = Row([given(n)], local)
        return (Row.__annotations__, helper.__annotations__, typing.get_type_hints(Row),
                row.items)

    same_as_plain(build, (1,), (2,))


def test_failing_on_the_value_at_an_index_an_unpacking_or_an_attribute_runs_the_glue_once(
) -> None:
    """The container, the unpacking or the attribute read failed on the real object
    (the proxy would have answered through its own methods): the program's own error,
    raised at once, without running the glue again (which repeated its appends)."""
    log: list[str] = []

    def pick(choice: Any) -> Any:
        log.append("pick")
        return ["a", "b"][given(choice)]

    def first(pair: Any) -> Any:
        log.append("first")
        head, _tail = given(pair)
        return head

    def method(text: Any) -> Any:
        log.append("method")
        return given(text).__radd__("x")

    def rows(choice: Any) -> Any:
        log.append("rows")
        table = ["a", "b"]
        table[given(choice)] = "c"
        return table

    for fn, argument in ((pick, "1"), (first, None), (method, "s"), (rows, "0")):
        log.clear()
        plain = outcome(fn, argument)
        plain_log = list(log)
        jitted = jit(fn)
        for _ in range(2):
            log.clear()
            assert outcome(jitted, argument) == plain
            assert log == plain_log, fn.__name__


def test_a_comparison_with_an_op_result_on_the_right_fails_with_plain_pythons_message() -> None:
    def gate(threshold: Any, value: Any) -> Any:
        return threshold < given(value), [threshold] >= [given(value)]

    def rank(values: list[Any]) -> Any:
        scores = [given(value) for value in values]
        scores.append("n/a")
        scores.sort()
        return scores

    same_as_plain(gate, ("3", 4), (2, 4), (None, "a"))
    same_as_plain(rank, ([2, 1],), (["b", "a"],))


def test_a_mapping_whose_keys_are_not_strings_reaches_the_function_it_is_given_to() -> None:
    def collect(**named: Any) -> Any:
        return named

    def render(counts: dict[Any, Any], label: Any) -> Any:
        return given(label), "{total} items".format(**counts)

    def into_python_function(counts: dict[Any, Any]) -> Any:
        return given("x"), collect(**counts)

    same_as_plain(render, ({1: "a", "total": 2}, "l"), ({1: "a"}, "l"), ({"total": 3}, "m"))
    same_as_plain(into_python_function, ({1: "a"},), ({"k": 1},))


def test_several_mappings_with_keys_that_are_not_strings_in_one_call_merge_as_in_python() -> None:
    def two(first: dict[Any, Any], second: dict[Any, Any]) -> Any:
        return "{total}/{n}".format(**first, **second, n2=given("x"))

    def twice(first: dict[Any, Any]) -> Any:
        return "{total}".format(**first, **{"total": given(1)})

    same_as_plain(two, ({1: "a", "total": 6}, {2: "b", "n": 7}), ({"total": 1}, {3: "c", "n": 2}))
    same_as_plain(twice, ({1: "a", "total": 6},), ({1: "a"},))


def test_async_glue_gives_a_mapping_with_keys_that_are_not_strings_as_it_is() -> None:
    async def render(counts: dict[Any, Any], total: Any) -> Any:
        counts[1] = given("a")
        counts["total"] = given(total)
        return "{total} items".format(**counts)

    jitted = jit(render)
    for total in (2, 3):
        assert asyncio.run(jitted({}, total)) == asyncio.run(render({}, total)) \
            == f"{total} items"


def test_calling_a_value_that_is_not_callable_fails_with_plain_pythons_message() -> None:
    """`callback(reply)` with `callback` left `None`, `handler = 5; handler()` and a
    `**` call of one: Python's "'NoneType' object is not callable", in sync and async
    glue, and the glue before it runs once."""
    log: list[str] = []

    def notify(callback: Any, x: Any) -> Any:
        reply = given(x)
        log.append("glue")
        if x == "kw":
            return callback(**{"text": reply})
        return callback(reply) if x else callback()

    async def anotify(callback: Any, x: Any) -> Any:
        reply = given(x)
        log.append("glue")
        return callback(reply)

    fast, afast = jit(notify), jit(anotify)
    for callback, x in ((None, "a"), (5, ""), (None, "kw"), ("s", "b")):
        log.clear()
        expected = outcome(notify, callback, x)
        assert expected[0] == "TypeError" and "not callable" in expected[1]
        assert outcome(fast, callback, x) == expected and log == ["glue", "glue"]
        log.clear()
        assert outcome(lambda *a: asyncio.run(afast(*a)), callback, x) == outcome(
            lambda *a: asyncio.run(anotify(*a)), callback, x) and log == ["glue", "glue"]
