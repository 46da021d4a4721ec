"""The counters and call records behind ``get_jit_stats`` (``ember.xcs.api.records``)."""

from __future__ import annotations

import pytest

from ember.xcs import jit, op
from ember.xcs.api.records import Comparison, Fallback, FunctionStats


def test_plain_calls_and_reset() -> None:
    stats = FunctionStats("f")
    stats.record_plain(0.002, False)
    stats.record_plain(0.001, True)
    shown = stats.snapshot()
    assert (shown["calls"], shown["traced_calls"], shown["errors"]) == (2, 0, 1)
    assert shown["total_time_ms"] == pytest.approx(3.0)
    assert shown["nodes"] == 0 and shown["wall_ms"] is None  # no traced call yet
    stats.note_fallback(Fallback("ran eagerly", None))
    stats.note_fallback(Fallback("ran eagerly", None))  # the same one twice: kept once
    stats.record_comparison(Comparison(plain_ms=200.0, jit_ms=100.0, repeat=3))
    shown = stats.snapshot()
    assert len(shown["fallbacks"]) == 1 and shown["speedup"] == pytest.approx(2.0)
    stats.reset()
    shown = stats.snapshot()
    assert shown["calls"] == 0 and shown["fallbacks"] == [] and shown["speedup"] is None


def test_a_traced_call_is_recorded_with_its_structure() -> None:
    @op
    def inc(x: int) -> int:
        return x + 1

    fan = jit(lambda n: [inc(i) for i in range(n)])
    fan(3)
    fan(3)
    fan(4)
    stats = fan._xcs_stats
    assert isinstance(stats, FunctionStats)
    assert stats.traced_calls == 3 and stats.structure_repeats == 1
    assert stats.last is not None and len(stats.last.log.entries) == 4
