"""engine.bodies: a body runs inside the exception its caller was handling, and that
exception comes out of it as the glue has it (traceback and context untouched)."""

from __future__ import annotations

import sys

from ember.xcs.engine.bodies import _while_handling


def test_the_handled_exception_keeps_its_context_when_another_is_being_handled() -> None:
    try:
        raise KeyError("first")
    except KeyError as caught:
        handled = caught
    context, traceback = handled.__context__, handled.__traceback__
    seen = []
    try:
        raise ValueError("on this thread")  # what the thread starting the body handles
    except ValueError:
        _while_handling(handled, lambda: seen.append(sys.exception()))
    assert seen == [handled]
    assert handled.__context__ is context and handled.__traceback__ is traceback
    assert not handled.__suppress_context__


def test_no_call_counts_as_underway_once_it_returned_or_raised() -> None:
    """Code rewritten for a call, run after it (a closure it returned), looks for lazy
    arguments only while calls are underway; every call ends its count."""
    import asyncio

    import pytest

    from ember.xcs import jit, op
    from ember.xcs.tracing.context import calls_underway

    @op
    def double(x: int) -> int:
        return 2 * x

    def pipeline(x: int) -> object:
        doubled = double(x)
        if x < 0:
            raise ValueError("negative")
        return lambda rows: (len(rows), doubled)

    async def apipeline(x: int) -> int:
        return double(x) + 1

    before = len(calls_underway.ids)
    counter = jit(pipeline)(2)
    assert counter([1, 2, 3]) == (3, 4)
    with pytest.raises(ValueError, match="negative"):
        jit(pipeline)(-1)
    assert asyncio.run(jit(apipeline)(3)) == 7
    assert len(calls_underway.ids) == before == 0
