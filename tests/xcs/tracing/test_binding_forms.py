"""Every way the glue binds a name waits for the ops reading it, as ``=`` does.

An op reading a variable of the glue through a closure (a lambda handed to it, an op
defined inside) or a global had finished, in plain Python, before the next line bound
that name again, whatever the statement binding it: ``with ... as``, ``except ... as``
(and the ``del`` ending the handler), a walrus, a ``match`` capture, ``import ... as``,
``del``, ``def``, ``class``, ``for`` over a global or into an attribute or item of an
object an op holds, ``async for``, ``async with``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def transform(items: list[str], fn: Any) -> list[str]:
    time.sleep(0.005)
    return [fn(x) for x in items]


@contextlib.contextmanager
def given(value: Any) -> Iterator[Any]:
    yield value


@contextlib.asynccontextmanager
async def agiven(value: Any) -> AsyncIterator[Any]:
    yield value


async def items_of(values: list[str]) -> AsyncIterator[str]:
    for value in values:
        yield value


def with_as(items: list[str]) -> list[list[str]]:
    sep = "-"
    out = [transform(items, lambda x: sep.join(x))]
    with given("+") as sep:  # noqa: F811 -- rebinding it is the point
        out.append(transform(items, lambda x: sep.join(x)))
    return out


def walrus(items: list[str]) -> list[Any]:
    sep = "-"
    out: list[Any] = [transform(items, lambda x: sep.join(x))]
    if (sep := "+"):
        out.append(sep)
    return out


def walrus_in_a_comprehension(items: list[str]) -> tuple[list[str], list[str]]:
    sep = "-"
    first = transform(items, lambda x: sep.join(x))
    return first, [(sep := s) for s in ["+", "*"]]


def walrus_in_a_generator_expression(items: list[str]) -> tuple[list[str], list[str]]:
    sep = "-"
    first = transform(items, lambda x: sep.join(x))
    return first, list((sep := s) for s in ["+", "*"])


def except_as(items: list[str]) -> list[Any]:
    err: Any = "none"
    out: list[Any] = [transform(items, lambda x: f"{err}".join(x))]
    try:
        raise ValueError("+")
    except ValueError as err:  # noqa: F841 -- bound, then deleted by the handler's end
        out.append("caught")
    return out


def match_capture(items: list[str]) -> list[list[str]]:
    sep, rest = "-", {}
    out = [transform(items, lambda x: sep.join(x) + str(len(rest)))]
    match {"sep": "+", "more": 1}:
        case {"sep": str(sep), **rest}:
            out.append(transform(items, lambda x: sep.join(x) + str(len(rest))))
    return out


def import_as(items: list[str]) -> list[list[str]]:
    json: Any = "-"
    out = [transform(items, lambda x: str(json)[:1].join(x))]
    import json  # noqa: F811 -- rebinding it is the point
    out.append([json.dumps(items)])
    return out


def deleted(items: list[str]) -> list[list[str]]:
    sep = "-"
    out = [transform(items, lambda x: sep.join(x))]  # noqa: F821 -- deleted after
    del sep
    return out


def nonlocal_rebound_by_with(items: list[str]) -> list[list[str]]:
    sep = "-"

    def switch() -> None:
        nonlocal sep
        with given("+") as sep:
            pass

    out = [transform(items, lambda x: sep.join(x))]
    switch()
    return out


def def_and_class_statements(items: list[str]) -> list[list[str]]:
    def sep() -> str:
        return "-"

    class Style:
        sep = "-"

    out = [transform(items, lambda x: sep().join(x) + Style.sep)]

    def sep() -> str:  # noqa: F811 -- rebinding it is the point
        return "+"

    class Style:  # type: ignore[no-redef]  # noqa: F811
        sep = "+"

    out.append(transform(items, lambda x: sep().join(x) + Style.sep))
    return out


class State:
    def __init__(self) -> None:
        self.sep = "-"
        self.seps = {"current": "-"}


@op
def join_with(state: State, items: list[str]) -> list[str]:
    time.sleep(0.005)
    return [state.sep.join(x) + state.seps["current"] for x in items]


def loop_storing_into_an_object(items: list[str]) -> list[list[str]]:
    state = State()
    out = []
    for state.sep in ["-", "+"]:
        out.append(join_with(state, items))
    for state.seps["current"] in ["*", "/"]:
        out.append(join_with(state, items))
    return out


SEP = "-"


def read_sep(x: str) -> str:
    return SEP.join(x)


def global_for(items: list[str]) -> list[list[str]]:
    global SEP
    out = []
    for SEP in ["-", "+"]:
        out.append(transform(items, read_sep))
    SEP = "-"
    return out


def global_with_walrus_match_import(items: list[str]) -> list[list[str]]:
    global SEP
    out = [transform(items, read_sep)]
    with given("+") as SEP:
        out.append(transform(items, read_sep))
    if (SEP := "*"):
        out.append(transform(items, read_sep))
    match "/":
        case str(SEP):
            out.append(transform(items, read_sep))
    import string as SEP  # noqa: F401, F811 -- rebinding the global is the point
    SEP = "-"  # noqa: F811
    return out


async def async_with_as(items: list[str]) -> list[list[str]]:
    sep = "-"
    out = [transform(items, lambda x: sep.join(x))]
    async with agiven("+") as sep:  # noqa: F811 -- rebinding it is the point
        out.append(transform(items, lambda x: sep.join(x)))
    return out


async def async_for(items: list[str]) -> list[list[str]]:
    out = []
    async for sep in items_of(["-", "+"]):
        out.append(transform(items, lambda x: sep.join(x)))
    return out


async def async_comprehension(items: list[str]) -> list[list[str]]:
    return [transform(items, lambda x: sep.join(x)) async for sep in items_of(["-", "+"])]


async def async_walrus_and_global_for(items: list[str]) -> list[Any]:
    global SEP
    sep = "-"
    out: list[Any] = [transform(items, lambda x: sep.join(x))]
    if (sep := "+"):
        out.append(sep)
    for SEP in ["-", "+"]:
        out.append(transform(items, read_sep))
    SEP = "-"
    return out


SYNC = [with_as, walrus, walrus_in_a_comprehension, walrus_in_a_generator_expression,
        except_as, match_capture, import_as, deleted, nonlocal_rebound_by_with,
        def_and_class_statements, loop_storing_into_an_object, global_for,
        global_with_walrus_match_import]
ASYNC = [async_with_as, async_for, async_comprehension, async_walrus_and_global_for]


@pytest.mark.parametrize("program", SYNC, ids=lambda program: program.__name__)
def test_an_op_reads_the_name_as_it_was_at_its_call(program: Any) -> None:
    expected = program(["ab", "cd"])
    jitted = jit(program)
    assert jitted(["ab", "cd"]) == expected
    assert jitted(["ef"]) == program(["ef"])  # later calls too


@pytest.mark.parametrize("program", ASYNC, ids=lambda program: program.__name__)
def test_async_glue_binding_a_name_waits_for_the_ops_reading_it(program: Any) -> None:
    expected = asyncio.run(program(["ab", "cd"]))
    jitted = jit(program)
    assert asyncio.run(jitted(["ab", "cd"])) == expected
    assert asyncio.run(jitted(["ef"])) == asyncio.run(program(["ef"]))


def test_names_no_op_reads_keep_ops_parallel() -> None:
    @jit
    def fan(groups: list[list[str]]) -> list[Any]:
        out: list[Any] = []
        for group in groups:
            out.append(transform(group, str.upper))
            with given(group) as held:
                out.append(held)
        return out

    fan([["a"]])
    started = time.perf_counter()
    assert fan([["ab"], ["cd"]] * 4) == [["AB"], ["ab"], ["CD"], ["cd"]] * 4
    assert time.perf_counter() - started < 8 * 0.005 * 0.7
