"""``f(**row, k=v)`` and ``f(a, *x)`` in jitted glue raise what plain Python raises.

The rewritten call hands its arguments to the runtime; a keyword given twice (by a
mapping and a keyword, or by two mappings) made CPython name the runtime's helper
(``prep_unpacked() got multiple values ...``) instead of the user's function. A ``*``
value that is not iterable among other positional arguments raises, in plain Python,
"Value after * ..." as it is reached (later arguments are not evaluated); a callable
without ``__qualname__`` (a ``functools.partial``, an object with ``__call__``) is
named by its ``str``, a method of an op result by its own name."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ember.xcs import jit, op
from tests.xcs.tracing.outcomes import outcome

CALLS: list[str] = []


@op
def fetch(k: int) -> dict[str, Any]:
    CALLS.append(f"fetch {k}")
    time.sleep(0.001)
    return {"k": k, "n": k + 1}


@op
async def afetch(k: int) -> dict[str, Any]:
    CALLS.append(f"afetch {k}")
    await asyncio.sleep(0.001)
    return {"k": k, "n": k + 1}


def render(*parts: Any, **fields: Any) -> str:
    return f"{parts}:{sorted(fields.items())}"


class Page:
    def show(self, **fields: Any) -> str:
        return str(sorted(fields.items()))


class Tool:
    def __call__(self, *parts: Any, **fields: Any) -> str:
        return render(*parts, **fields)

    def __str__(self) -> str:
        return "<tool>"


def mapping_then_keyword(x: int) -> str:
    return render(**fetch(x), k=0)


def keyword_then_mapping(x: int) -> str:
    return render(1, *[x], k=x, **fetch(x))


def two_mappings(x: int) -> str:
    return render(**fetch(x), **{"n": x})


def a_method(x: int) -> str:
    return Page().show(**fetch(x), n=x)


def a_builtin(x: int) -> dict[str, Any]:
    return dict(**fetch(x), k=2)


def not_a_mapping_before_star(x: int) -> str:
    return render(*x, **x)  # type: ignore[misc]


def no_repeat(x: int) -> str:
    return render(x, *[x + 1], z=x, **fetch(x), **{"q": x})


def star_among_others(x: int) -> str:
    return render(*[x], *x, *fetch(x))  # type: ignore[misc]  # fetch not called


def star_after_a_value(x: int) -> str:
    return render(x, *x)  # type: ignore[misc]


def partial_callee(x: int) -> str:
    return functools.partial(render, 0)(*x, k=1)  # type: ignore[misc]


def object_callee(x: int) -> str:
    return Tool()(**fetch(x), k=1)


def method_of_an_op_result(x: int) -> Any:
    return fetch(x).get(*x)  # type: ignore[misc]


@pytest.mark.parametrize("fn", [star_among_others, star_after_a_value, partial_callee,
                                object_callee, method_of_an_op_result])
def test_a_bad_star_or_odd_callee_raises_plain_pythons_error(fn: Any) -> None:
    fast = jit(fn)
    for x in (1, 4):
        assert outcome(fast, x, calls=CALLS) == outcome(fn, x, calls=CALLS)


@pytest.mark.parametrize("fn", [mapping_then_keyword, keyword_then_mapping, two_mappings,
                                a_method, a_builtin, not_a_mapping_before_star, no_repeat])
def test_a_keyword_given_twice_raises_plain_pythons_error(fn: Any) -> None:
    fast = jit(fn)
    for x in (1, 4):
        assert outcome(fast, x, calls=CALLS) == outcome(fn, x, calls=CALLS)


def test_an_async_call_with_a_keyword_given_twice_names_the_function() -> None:
    async def handle(row: dict[str, Any], **fields: Any) -> list[Any]:
        return [row, sorted(fields.items())]

    async def main(x: int) -> list[Any]:
        ok = await handle(await afetch(x), **await afetch(x + 1), z=1)
        try:
            await handle({}, **await afetch(x), n=0)
        except TypeError as error:
            return [ok, str(error)]
        return [ok]

    for x in (2, 5):
        assert asyncio.run(jit(main)(x)) == asyncio.run(main(x))


@op
def field_name(k: int) -> str:
    CALLS.append(f"field {k}")
    time.sleep(0.001)
    return f"f{k}"


def keyword_named_by_an_op(x: int) -> str:
    return render(**{field_name(x): x, "z": 0})


def keywords_named_by_ops_into_format(x: int) -> str:
    return "{f1}/{f2}".format(**{field_name(1): x}, **{field_name(2): x + 1})


def keyword_named_by_an_op_given_twice(x: int) -> str:
    return render(**{field_name(x): 1}, f1=2)


@pytest.mark.parametrize("fn", [keyword_named_by_an_op, keywords_named_by_ops_into_format,
                                keyword_named_by_an_op_given_twice])
def test_a_keyword_named_by_an_op_result_is_that_name(fn: Any) -> None:
    fast = jit(fn)
    for x in (1, 3):
        assert outcome(fast, x, calls=CALLS) == outcome(fn, x, calls=CALLS)


@op
def listing(k: int) -> list[int]:
    CALLS.append(f"listing {k}")
    time.sleep(0.001)
    return [k, k + 1]


def _async_outcome(fn: Any, x: int) -> tuple[Any, ...]:
    return outcome(lambda v: asyncio.run(fn(v)), x, calls=CALLS)


async def async_not_a_mapping(x: int) -> str:
    return render(**listing(x))  # type: ignore[arg-type]


async def async_not_iterable_among_others(x: int) -> str:
    return render(x, *listing(x)[0])  # type: ignore[misc]


async def async_unpacked_op_results(x: int) -> str:
    return render(*listing(x), **fetch(x), z=len(await afetch(x)))


@pytest.mark.parametrize("fn", [async_not_a_mapping, async_not_iterable_among_others,
                                async_unpacked_op_results])
def test_an_op_result_unpacked_in_async_glue_is_its_value(fn: Any) -> None:
    fast = jit(fn)
    for x in (1, 4):
        assert _async_outcome(fast, x) == _async_outcome(fn, x)


class Record(Mapping[str, Any]):
    """A mapping that records its reads (a lazy row, a settings object)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def keys(self) -> Any:
        CALLS.append("keys")
        return self.data.keys()

    def __getitem__(self, key: str) -> Any:
        CALLS.append(f"read {key}")
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def a_mapping_class_given_a_key_twice(x: int) -> str:
    return render(k=x, **Record(fetch(x)))


def a_mapping_class_unpacked(x: int) -> str:
    return render(z=x, **Record(fetch(x)), **Record({"q": x}))


@pytest.mark.parametrize("fn", [a_mapping_class_given_a_key_twice, a_mapping_class_unpacked])
def test_a_mapping_is_read_as_plain_python_reads_it(fn: Any) -> None:
    """CPython merges a ``**`` mapping that is not a dict by its ``keys()``, then reads
    each key not given already: a key given twice raises before its value is read."""
    fast = jit(fn)
    for x in (1, 4):
        assert outcome(fast, x, calls=CALLS) == outcome(fn, x, calls=CALLS)


def given_twice_before_a_later_mapping(x: int) -> str:
    return render(k=x, **fetch(x), **fetch(x + 1))  # fetch(x + 1) not called


def not_a_mapping_before_a_later_keyword(x: int) -> str:
    return render(**x, z=fetch(x))  # type: ignore[arg-type]  # fetch not called


def given_twice_in_a_loop(x: int) -> list[str]:
    out = []
    for k in range(x):
        try:
            out.append(render(**{"k": k}, **fetch(k), n=fetch(k + 10)))
        except TypeError as error:
            out.append(str(error))
    return out


async def async_given_twice_before_a_later_mapping(x: int) -> str:
    return render(k=x, **await afetch(x), **fetch(x + 1))


@pytest.mark.parametrize("fn", [given_twice_before_a_later_mapping,
                                not_a_mapping_before_a_later_keyword, given_twice_in_a_loop])
def test_a_bad_keyword_part_raises_before_the_later_ones_are_evaluated(fn: Any) -> None:
    """CPython merges a call's keyword parts as it evaluates them, and raises at the
    first bad one: the keyword arguments after it (an op call) are never evaluated."""
    fast = jit(fn)
    for x in (1, 3):
        assert outcome(fast, x, calls=CALLS) == outcome(fn, x, calls=CALLS)


def test_a_bad_keyword_part_in_async_glue_raises_before_the_later_ones() -> None:
    plain = async_given_twice_before_a_later_mapping
    fast = jit(plain)
    for x in (1, 3):
        assert _async_outcome(fast, x) == _async_outcome(plain, x)
