"""Globals rebound other than by a statement naming them wait for the ops reading them
(``tracing.rebinding``, and ``globals()[name] = v`` in ``tracing.guards``)."""

from __future__ import annotations

import asyncio
import operator
import sys
import time
from collections.abc import Callable

import pytest

from ember.xcs import jit, op

MODE = "draft"


@op
def write(topic: str) -> str:
    time.sleep(0.01)
    return f"{topic} ({MODE})"


def by_subscript(topic: str) -> str:
    text = write(topic)
    globals()["MODE"] = "final"
    return text


def by_update(topic: str) -> str:
    text = write(topic)
    globals().update(MODE="final")
    return text


def by_setattr(topic: str) -> str:
    text = write(topic)
    setattr(sys.modules[__name__], "MODE", "final")
    return text


def by_pop(topic: str) -> str:
    text = write(topic)
    globals().pop("MODE")
    globals()["MODE"] = "final"
    return text


def by_module_dict(topic: str) -> str:
    text = write(topic)
    module = sys.modules[__name__]
    module.__dict__["MODE"] = "final"
    return text


def by_vars(topic: str) -> str:
    text = write(topic)
    module = sys.modules[__name__]
    vars(module)["MODE"] = "final"
    return text


def by_setitem(topic: str) -> str:
    text = write(topic)
    globals().__setitem__("MODE", "final")
    return text


def by_class_method(topic: str) -> str:
    text = write(topic)
    dict.update(globals(), MODE="final")
    return text


def by_class_slot(topic: str) -> str:
    text = write(topic)
    dict.__setitem__(globals(), "MODE", "final")
    return text


def by_operator(topic: str) -> str:
    text = write(topic)
    operator.setitem(globals(), "MODE", "final")
    return text


def by_exec(topic: str) -> str:
    text = write(topic)
    exec("MODE = 'final'", globals())
    return text


def by_exec_declaring_it_global(topic: str) -> str:
    text = write(topic)
    exec("global MODE; MODE = 'final'")
    return text


async def by_subscript_async(topic: str) -> str:
    text = write(topic)
    globals()["MODE"] = "final"
    return text


@pytest.mark.parametrize("glue", [by_subscript, by_update, by_setattr, by_pop, by_module_dict,
                                  by_vars, by_setitem, by_class_method, by_class_slot,
                                  by_operator, by_exec, by_exec_declaring_it_global])
def test_an_op_reads_the_global_as_it_was_at_its_call(glue: Callable[[str], str]) -> None:
    global MODE
    jitted = jit(glue)
    for _ in range(2):  # the first call and a later one
        MODE = "draft"
        assert jitted("essay") == "essay (draft)"
        assert MODE == "final"


def test_the_same_in_async_glue() -> None:
    global MODE
    MODE = "draft"
    assert asyncio.run(jit(by_subscript_async)("essay")) == "essay (draft)"
    assert MODE == "final"
