"""An operator whose left operand is an object of the user's class and whose right one
is an op result (``tracing.operators``): the user's method runs once, given the value."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ember.xcs import jit, op

seen: list[tuple[str, str]] = []


@op
def score(x: int) -> int:
    time.sleep(0.01)
    return x + 1


class Threshold:
    """Compares and adds with numbers only: it declines anything else, as users write."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __lt__(self, other: object) -> Any:
        seen.append(("lt", type(other).__name__))
        return self.value < other if isinstance(other, int) else NotImplemented

    def __gt__(self, other: object) -> Any:
        seen.append(("gt", type(other).__name__))
        return self.value > other if isinstance(other, int) else NotImplemented

    def __eq__(self, other: object) -> Any:
        seen.append(("eq", type(other).__name__))
        return self.value == other if isinstance(other, int) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __add__(self, other: object) -> Any:
        seen.append(("add", type(other).__name__))
        return self.value + other if isinstance(other, int) else NotImplemented


def _same_as_plain(f: Any) -> None:
    fast = jit(f)
    for x in (1, 4, 2):
        seen.clear()
        try:
            expected: Any = f(x)
        except TypeError as error:
            expected = error
        plain_seen = list(seen)
        seen.clear()
        try:
            got: Any = fast(x)
        except TypeError as error:
            got = error
        assert seen == plain_seen
        if isinstance(expected, TypeError):
            assert type(got) is TypeError and str(got) == str(expected)
        else:
            assert got == expected


@pytest.mark.parametrize("written", ["<", ">", "==", "+"])
def test_the_users_operator_method_runs_once_with_the_value(written: str) -> None:
    def f(x: int) -> Any:
        s = score(x)
        t = Threshold(3)
        if written == "<":
            return t < s
        if written == ">":
            return t > s
        if written == "==":
            return t == s
        return t + s

    _same_as_plain(f)


def test_a_declining_method_is_asked_once_and_the_error_is_plain_pythons() -> None:
    """`Threshold(3) < "text"` from an op: it declines; plain Python asks it once and
    raises naming '<' with the operands in the order written."""

    @op
    def text(x: int) -> str:
        return str(x)

    def f(x: int) -> Any:
        return Threshold(3) < text(x)

    _same_as_plain(f)


def test_a_plain_value_left_of_an_op_result_keeps_its_message() -> None:
    def f(x: int) -> Any:
        label = "3"
        return label < score(x)

    _same_as_plain(f)


class Tally:
    """Adds numbers in place; declines anything else (``+=`` then falls back to ``+``)."""

    def __init__(self) -> None:
        self.total = 0

    def __iadd__(self, other: object) -> Any:
        seen.append(("iadd", type(other).__name__))
        if not isinstance(other, int):
            return NotImplemented
        self.total += other
        return self

    def __itruediv__(self, other: object) -> Any:
        seen.append(("itruediv", type(other).__name__))
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tally) and other.total == self.total

    __hash__ = None  # type: ignore[assignment]


def test_an_in_place_operator_gives_the_users_method_the_value() -> None:
    """`tally += r`: plain Python calls Tally.__iadd__ once, with the int."""

    def f(x: int) -> Any:
        tally = Tally()
        tally += score(x)
        return tally

    _same_as_plain(f)


def test_a_declined_in_place_operator_keeps_plain_pythons_message() -> None:
    """`tally /= r`, declined: asked once, and the error names '/='."""

    def f(x: int) -> Any:
        tally = Tally()
        tally /= score(x)
        return tally

    _same_as_plain(f)


def test_two_variables_keep_plain_order_and_errors() -> None:
    """`a + b` between two variables is written in place (one type check, no call):
    an unbound left one still fails first, an int and a str keep Python's message, and
    an object of the user's left of an op result is still given the value."""

    def unbound(x: int) -> Any:
        if x > 100:
            a = b = 0
        return a + b  # noqa: F821 -- both unbound: plain Python names `a`

    def mixed(x: int) -> Any:
        r = score(x)
        a, b = x, "s"
        return (a + b) if x == 2 else r

    def users(x: int) -> Any:
        s = score(x)
        t = Threshold(3)
        u = t + s
        return u, t < s

    for f in (unbound, mixed):
        fast = jit(f)
        for x in (1, 2):
            try:
                f(x)
            except Exception as error:  # noqa: BLE001 -- compared with jit's below
                expected: Any = (type(error), str(error))
            else:
                expected = f(x)
            try:
                got: Any = fast(x)
            except Exception as error:  # noqa: BLE001
                got = (type(error), str(error))
            assert got == expected
    _same_as_plain(users)


def test_names_in_a_class_body_are_read_once() -> None:
    """A class body reads its names from its namespace (a metaclass's mapping may count
    the reads): an operator there between two names reads each once, as plain Python."""
    reads: list[str] = []

    class Counting(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            reads.append(key)
            return super().__getitem__(key)

    class Meta(type):
        @classmethod
        def __prepare__(mcs, name: str, bases: Any, **kw: Any) -> Any:  # noqa: N804
            return Counting()

    def f(x: int) -> Any:
        r = score(x)

        class K(metaclass=Meta):
            a = 1
            b = 2
            c = a + b

        return K.c, r

    assert f(1) == (3, 2)
    plain = list(reads)
    reads.clear()
    assert jit(f)(1) == (3, 2)
    assert [k for k in reads if k in "abc"] == [k for k in plain if k in "abc"]


class Holder:
    """Keeps a Tally in an attribute, and one behind a property (whose getter counts)."""

    def __init__(self) -> None:
        self.tally = Tally()
        self._hidden = Tally()

    @property
    def hidden(self) -> Tally:
        seen.append(("get", "hidden"))
        return self._hidden

    @hidden.setter
    def hidden(self, value: Tally) -> None:
        self._hidden = value


@pytest.mark.parametrize("where", ["attribute", "item", "list item", "property"])
def test_an_in_place_operator_on_an_attribute_or_item_gives_the_value(where: str) -> None:
    """`holder.tally += r`, `d["k"] += r`: Tally.__iadd__ is given the int once; a
    property's getter still runs once."""

    def f(x: int) -> Any:
        holder, d, items = Holder(), {"k": Tally()}, [Tally()]
        r = score(x)
        if where == "attribute":
            holder.tally += r
            return holder.tally
        if where == "item":
            d["k"] += r
            return d["k"]
        if where == "list item":
            i = 0
            items[i] += r
            return items[0]
        holder.hidden += r
        return holder.hidden

    _same_as_plain(f)
