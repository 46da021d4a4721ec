"""The decimal context is a process-wide setting (tracing.settings): the glue changing
it in place (ctx.prec = 4 ... ctx.prec = 28, traps, clear_flags) waits for the ops and
lifted operations issued before, which compute as plain Python did."""

from __future__ import annotations

import decimal
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def price(text: str) -> str:
    time.sleep(0.01)
    return text


@op
def third(text: str) -> Decimal:
    time.sleep(0.01)
    return Decimal(text) / 3  # in the op's body: the context of its call too


@pytest.fixture(autouse=True)
def _fresh_context() -> Iterator[None]:
    decimal.setcontext(decimal.Context())
    yield
    decimal.setcontext(decimal.Context())


def _precision(text: str) -> Any:
    ctx = decimal.getcontext()
    ctx.prec = 4
    lifted = Decimal(price(text)) / 3
    in_op = third(text)
    ctx.prec = 28  # in place: the division above has not run yet under @jit
    return lifted, in_op


def _traps(text: str) -> Any:
    ctx = decimal.getcontext()
    ctx.traps[decimal.DivisionByZero] = False
    infinite = Decimal(price(text)) / 0
    ctx.traps[decimal.DivisionByZero] = True
    return infinite


def _rounding(texts: list[str]) -> Any:
    decimal.getcontext().rounding = decimal.ROUND_DOWN
    sums = [+(Decimal(price(t)) + Decimal("0.00001")) for t in texts]
    decimal.getcontext().rounding = decimal.ROUND_HALF_EVEN
    return sums


def _flags_later(text: str) -> Any:
    ctx = decimal.getcontext()
    ctx.clear_flags()
    value = Decimal(price(text)) / 3
    if value < 0:  # a branch waits for the value: plain Python's flags are set by now
        value = -value
    return value, bool(ctx.flags[decimal.Inexact]), bool(ctx.flags[decimal.DivisionByZero])


@pytest.mark.parametrize(("program", "argument"), [
    (_precision, "1"), (_precision, "2.5"), (_traps, "1"), (_flags_later, "1"),
])
def test_a_task_computes_with_the_decimal_context_of_its_call(
        program: Callable[..., Any], argument: str) -> None:
    expected = program(argument)
    jitted = jit(program)
    for _ in range(2):  # the first call and one after jit has learned
        assert jitted(argument) == expected


def test_rounding_changed_after_many_lifted_operations() -> None:
    decimal.getcontext().prec = 3
    expected = _rounding(["1.234", "5.678", "9.99"])
    assert expected == [Decimal("1.23"), Decimal("5.67"), Decimal("9.99")]
    assert jit(_rounding)(["1.234", "5.678", "9.99"]) == expected


def test_an_op_changing_the_context_in_a_try_block_changes_the_glues() -> None:
    """An op the glue waits for at once shares the glue's context, as in plain Python."""

    @op
    def set_precision(digits: int) -> int:
        decimal.getcontext().prec = digits
        return digits

    def program() -> str:
        try:
            set_precision(5)
        finally:
            pass
        return str(Decimal(1) / 3)

    assert jit(program)() == program() == "0.33333"


def test_an_op_setting_the_context_in_its_body_sets_the_glues() -> None:
    """As in plain Python, where the op ran on the glue's context: the setting it makes
    holds for the glue once the op has ended (and the precision the glue set back
    afterwards is not undone by an op that did not set it)."""

    @op
    def configure(digits: int) -> int:
        time.sleep(0.01)
        decimal.getcontext().prec = digits
        decimal.getcontext().traps[decimal.DivisionByZero] = False
        return digits

    @op
    def reader() -> int:
        time.sleep(0.01)
        return decimal.getcontext().prec

    def program() -> Any:
        ctx = decimal.getcontext()
        ctx.prec = 4
        seen = reader()
        ctx.prec = 28
        if configure(6) != 6:  # waits for the op
            return None
        return seen, str(Decimal(1) / 3), str(Decimal(1) / 0)

    expected = program()
    assert expected == (4, "0.333333", "Infinity")
    for _ in range(2):
        decimal.setcontext(decimal.Context())
        assert jit(program)() == expected


class Holder:
    def __init__(self) -> None:
        self.ctx = decimal.getcontext()


def _through_an_attribute(text: str) -> Any:
    holder = Holder()  # the context reached through an object: holder.ctx.prec = 4
    holder.ctx.prec = 4
    lifted = Decimal(price(text)) / 3
    holder.ctx.prec = 28
    holder.ctx.traps[decimal.DivisionByZero] = False
    infinite = Decimal(price(text)) / 0
    holder.ctx.traps[decimal.DivisionByZero] = True
    return lifted, infinite


def test_the_context_changed_through_an_attribute_path_waits_too() -> None:
    expected = _through_an_attribute("1")
    assert expected == (Decimal("0.3333"), Decimal("Infinity"))
    jitted = jit(_through_an_attribute)
    for _ in range(2):
        assert jitted("1") == expected
