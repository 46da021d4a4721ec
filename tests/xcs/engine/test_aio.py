from __future__ import annotations

import asyncio
import contextvars

import pytest

from ember.xcs.engine.aio import run_coroutine, submit_coroutine

flag: contextvars.ContextVar[str] = contextvars.ContextVar("flag", default="unset")


async def echo(value: str) -> str:
    await asyncio.sleep(0)
    return f"{value}:{flag.get()}"


async def fail() -> None:
    raise LookupError("async failure")


def test_run_coroutine_returns_and_raises() -> None:
    assert run_coroutine(echo("a")) == "a:unset"
    with pytest.raises(LookupError, match="async failure"):
        run_coroutine(fail())


def test_submit_coroutine_uses_the_given_context() -> None:
    context = contextvars.copy_context()
    context.run(flag.set, "inside")
    assert submit_coroutine(echo("b"), context).result(timeout=5) == "b:inside"
