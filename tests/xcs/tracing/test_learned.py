from __future__ import annotations

import json
import re
import time

from ember.xcs import explain, get_jit_stats, jit, op
from ember.xcs.ir.graph import SourceLocation
from ember.xcs.tracing.learned import LearnedBarriers

calls: list[str] = []


@op
def word(x: int) -> str:
    calls.append(f"word{x}")
    time.sleep(0.05)
    return f"w{x}"


def test_learned_barriers_are_bounded_and_unique() -> None:
    learned = LearnedBarriers(limit=2)
    code = test_learned_barriers_are_bounded_and_unique.__code__
    where = SourceLocation("f.py", 1, "f")
    assert learned.add(code, 1, 1, where, "TypeError")
    assert not learned.add(code, 1, 1, where, "TypeError")
    assert learned.add(code, 2, 3, where, "TypeError")
    assert not learned.add(code, 5, 5, where, "TypeError")
    assert learned.covers(code, 3) and not learned.covers(code, 4)
    learned.clear()
    assert not learned


def test_rejected_lazy_values_are_learned_and_never_run_twice() -> None:
    @jit
    def f(items: list[int]) -> dict[str, object]:
        results = [word(i) for i in items]
        text = ", ".join(results)
        encoded = json.dumps({"first": word(100)})
        match = re.match(r"w(\d)", word(items[0]))
        return {"text": text, "json": encoded, "digit": match.group(1) if match else None}

    expected = {"text": "w1, w2, w3", "json": '{"first": "w100"}', "digit": "1"}
    for call in range(3):
        calls.clear()
        started = time.perf_counter()
        assert f([1, 2, 3]) == expected
        assert sorted(calls) == sorted(["word1", "word2", "word3", "word100", "word1"])
        if call:
            assert time.perf_counter() - started < 0.35  # no reruns: about 3 x 50 ms rounds
    stats = get_jit_stats(f)
    assert len(stats["learned_barriers"]) == 3
    assert stats["reruns"] == 3  # all learned on the first call
    assert "learned barriers (3):" in explain(f)
