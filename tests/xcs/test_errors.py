"""The note naming where XCS met a user's exception: there in tracebacks, left out of
what a doctest compares with the example's expected text (plain Python's)."""

from __future__ import annotations

import doctest
import time

import pytest

from ember.xcs import jit, op


@op
def add_one(text: str) -> str:
    time.sleep(0.01)
    return text + 1  # type: ignore[operator]  # the example's bug


@jit
def shout(text: str) -> str:
    return add_one(text).upper()


EXAMPLE = """
>>> shout("a")
Traceback (most recent call last):
    ...
TypeError: can only concatenate str (not "int") to str
"""


def test_a_doctest_expecting_the_exception_of_a_jitted_call_passes() -> None:
    test = doctest.DocTestParser().get_doctest(EXAMPLE, {"shout": shout}, "shouting",
                                               None, 0)
    runner = doctest.DocTestRunner(verbose=False)
    runner.run(test, out=lambda text: None)
    assert runner.summarize(verbose=False) == (0, 1)


def test_outside_doctest_the_exception_names_its_node() -> None:
    with pytest.raises(TypeError, match="can only concatenate") as caught:
        shout("a")
    assert "[ember.xcs] raised by node #0 add_one" in caught.value.__notes__[0]
