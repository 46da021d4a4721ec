"""The explain text, written from a function's records."""

from __future__ import annotations

from ember.xcs import Config, explain, jit, op
from ember.xcs.api.explanation import explanation
from ember.xcs.api.records import Comparison, FunctionStats
from ember.xcs.api.views import ExplainReport


@op
def shout(text: str) -> str:
    return text.upper()


def test_a_function_never_called_is_reported_as_such() -> None:
    text = explanation(FunctionStats("quiet"), None)
    assert isinstance(text, ExplainReport)
    assert text == (
        "explain: quiet\n"
        "  calls so far: 0\n"
        "  mode: orchestration\n"
        "  no call yet: call the function, or explain(f, *args) to run one\n"
        "learned barriers (0):\n"
        "  none\n"
        "fallbacks (0):\n"
        "  none"
    )


def test_the_method_the_function_and_the_records_tell_the_same_story() -> None:
    pair = jit(lambda text: [shout(text), shout(text + "!")])
    pair("hi")
    from_records = explanation(pair._xcs_stats, pair.config)
    assert "  calls so far: 1" in from_records and "  0: a=shout, b=shout" in from_records
    assert pair.explain() == explain(pair) == from_records


def test_the_method_runs_the_function_when_given_arguments() -> None:
    echo = jit(lambda text: [shout(text)])
    text = echo.explain("hi")
    assert isinstance(text, ExplainReport) and "  calls so far: 1" in text
    assert "  calls so far: 2" in echo.explain("again")
    assert "  calls so far: 2" in echo.explain()  # without arguments: nothing runs


def test_redact_keeps_argument_values_out_of_the_ir() -> None:
    def login(text: str) -> list[str]:
        return [shout(text), shout("password")]

    assert "shout('password')" in jit(login).explain("hunter2")
    text = jit(login, config=Config(redact=True)).explain("hunter2")
    assert "b = shout(<Redacted>)" in text
    assert "password" not in text and "hunter2" not in text


def test_a_measured_comparison_is_reported_with_its_figures() -> None:
    stats = FunctionStats("timed")
    stats.record_comparison(Comparison(plain_ms=12.0, jit_ms=4.0, repeat=5))
    text = explanation(stats, None)
    assert "measured: plain 12.0 ms, jit 4.0 ms (median of 5), speedup 3.00x" in text


def test_a_call_too_large_to_print_is_summed_up_without_private_names() -> None:
    from ember.xcs.tracing.log import GRAPH_LIMIT

    fan = jit(lambda n: [shout(str(i)) for i in range(n)])
    text = explain(fan, GRAPH_LIMIT + 1)
    assert f"IR: {GRAPH_LIMIT + 1} nodes (over {GRAPH_LIMIT}, too many to print" in text
    assert f"parallel groups (1, widest {GRAPH_LIMIT + 1})" in text
    assert "_stats_of" not in text and ".last." not in text
