"""An op reads what its own body reads of modules (``os.environ``, ``os.getenv``,
``settings.MODE``) as it was at the call: the glue's later changes to them wait for
the op, as in plain Python, where the op had finished before the next line ran."""

from __future__ import annotations

import asyncio
import os
import random
import time
import types
from collections.abc import Callable, Iterator
from os import environ
from random import choice
from typing import Any

import numpy as np
import pytest

from ember.xcs import jit, op
from ember.xcs.tracing.reads import global_reads

VARIABLE = "XCS_TEST_MODEL"
settings = types.ModuleType("xcs_test_settings")  # a configuration module of the user's


@pytest.fixture(autouse=True)
def _model_is_a() -> Iterator[None]:
    os.environ[VARIABLE] = "gpt-a"
    settings.MODE = "gpt-a"
    yield
    os.environ.pop(VARIABLE, None)


@op
def through_os(prompt: str) -> str:
    time.sleep(0.02)
    return f"{prompt} via {os.environ[VARIABLE]}"


@op
def through_environ(prompt: str) -> str:
    time.sleep(0.02)
    return f"{prompt} via {environ[VARIABLE]}"


@op
def through_getenv(prompt: str) -> str:
    time.sleep(0.02)
    return f"{prompt} via {os.getenv(VARIABLE)}"


@op
def through_argument(prompt: str, env: Any) -> str:
    time.sleep(0.02)
    return f"{prompt} via {env[VARIABLE]}"


@op
def through_settings(prompt: str) -> str:
    time.sleep(0.02)
    return f"{prompt} via {settings.MODE}"


def set_environ(ask: Callable[[str], str]) -> Callable[[str], str]:
    def program(prompt: str) -> str:
        answer = ask(prompt)
        os.environ[VARIABLE] = "gpt-b"  # the next request's model
        return answer
    return program


def update_environ(prompt: str) -> str:
    answer = through_os(prompt)
    os.environ.update({VARIABLE: "gpt-b"})
    return answer


def environ_argument(prompt: str) -> str:
    answer = through_argument(prompt, os.environ)
    os.environ[VARIABLE] = "gpt-b"
    return answer


def set_settings(prompt: str) -> str:
    answer = through_settings(prompt)
    settings.MODE = "gpt-b"
    return answer


PROGRAMS = {
    "os.environ": set_environ(through_os),
    "from os import environ": set_environ(through_environ),
    "os.getenv": set_environ(through_getenv),
    "os.environ.update": update_environ,
    "os.environ passed": environ_argument,
    "module attribute": set_settings,
}


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_an_op_reads_the_environment_and_module_attributes_as_at_its_call(
        program: Callable[[str], str]) -> None:
    plain = program("hi")
    os.environ[VARIABLE] = settings.MODE = "gpt-a"
    assert plain == "hi via gpt-a"
    for _ in range(2):  # the first call and a later one
        assert jit(program)("hi") == plain
        os.environ[VARIABLE] = settings.MODE = "gpt-a"


def test_async_glue_waits_for_the_op_before_changing_the_module() -> None:
    @op
    async def areply(prompt: str) -> str:
        await asyncio.sleep(0.02)
        return f"{prompt} via {settings.MODE}"

    @jit
    async def program(prompt: str) -> str:
        answer = await areply(prompt)
        settings.MODE = "gpt-b"
        return answer

    assert asyncio.run(program("hi")) == "hi via gpt-a"


def test_ops_reading_the_environment_nobody_changes_stay_parallel() -> None:
    @jit
    def fan_out(n: int) -> list[str]:
        return [through_getenv(f"q{i}") for i in range(n)] + \
            [through_settings(f"s{i}") for i in range(n)]

    fan_out(2)
    started = time.perf_counter()
    assert fan_out(8)[0] == "q0 via gpt-a"
    assert time.perf_counter() - started < 0.2  # 16 ops of 20 ms: 0.32 s one at a time


def test_module_functions_and_classes_are_left_out_when_first_read() -> None:
    def reads(text: str) -> Any:
        return os.path.join(text, os.sep), os.environ, time.sleep, settings.MODE

    assert global_reads(reads) is not None
    assert global_reads(reads)[1] == (("os", "sep"), ("os", "environ"), ("settings", "MODE"))


@op
def draw(n: int) -> list[int]:
    time.sleep(0.01)
    return [random.randint(0, 1000) for _ in range(n)]


@op
def pick(items: list[str]) -> str:
    time.sleep(0.01)
    return choice(items)


@op
def plain_work(x: int) -> int:
    time.sleep(0.02)
    return x


def _seeded_twice(n: int) -> Any:
    random.seed(1)
    first = draw(n)
    random.seed(1)  # waits: draw reads the generator random's functions share
    second = draw(n)
    return first, second


def _glue_draws_after(n: int) -> Any:
    random.seed(7)
    drawn = draw(n)
    after = random.random()  # waits for draw, which drew first in plain Python
    random.seed(3)
    picked = pick(["a", "b", "c", "d", "e", "f"])  # from random import choice: seen too
    random.seed(3)
    return drawn, after, picked, pick(["a", "b", "c", "d", "e", "f"])


@pytest.mark.parametrize("program", [_seeded_twice, _glue_draws_after])
def test_the_glue_using_random_waits_for_the_ops_drawing_from_it(
        program: Callable[..., Any]) -> None:
    expected = program(3)
    jitted = jit(program)
    for _ in range(2):  # the first call, and one after jit has learned
        assert jitted(3) == expected


def test_ops_not_drawing_from_random_keep_running_beside_the_glues_draws() -> None:
    from ember.xcs import get_jit_stats

    def jittered(xs: list[int]) -> list[Any]:
        return [(plain_work(x), random.random() < 2) for x in xs]

    program = jit(jittered)
    assert [value for value, _ in program([1, 2, 3])] == [1, 2, 3]
    assert get_jit_stats(program)["max_parallelism"] == 3



@op
def noise(n: int) -> list[float]:
    time.sleep(0.01)
    return [float(v) for v in np.random.rand(n)]


def test_numpys_legacy_generator_is_shared_the_same_way() -> None:
    def seeded(n: int) -> Any:
        np.random.seed(5)
        first = noise(n)
        np.random.seed(5)
        return first, noise(n), float(np.random.rand())

    expected = seeded(2)
    assert expected[0] == expected[1]
    jitted = jit(seeded)
    for _ in range(2):
        assert jitted(2) == expected
