"""What XCS knows about CPython 3.11, 3.12 and 3.13, one behaviour per test, on each."""

from __future__ import annotations

import sys
import time

import pytest

from ember.xcs import jit, op
from ember.xcs.tracing import versions


@op
def slow(x: int) -> int:
    time.sleep(0.01)
    return x + 1


def comprehension_only(xs: list[int]) -> list[int]:
    return [slow(x) for x in xs]  # 3.12+ inlines this, with an exception-table entry


def generator(xs: list[int]):  # type: ignore[no-untyped-def]
    for x in xs:
        yield slow(x)  # 3.12+ wraps the body in a StopIteration handler


def real_try(x: int) -> int:
    try:
        return slow(x)
    except ValueError:
        return 0


def test_handler_ranges_hold_only_user_try_blocks() -> None:
    assert versions.handler_ranges(comprehension_only.__code__) == ()
    assert versions.handler_ranges(generator.__code__) == ()
    assert versions.handler_ranges(real_try.__code__) != ()


def test_loaded_names_read_superinstructions() -> None:
    def pair(a: int, b: int) -> int:
        return a + b  # LOAD_FAST_LOAD_FAST on 3.13

    line = pair.__code__.co_firstlineno + 1
    assert versions.loaded_names(pair.__code__, line, line) == ("a", "b")


@pytest.mark.parametrize(("source", "reason"), [
    ("def f(r):\n    return 1 if r is None else 2\n", "`is None`"),
    ("def f(r):\n    return r is True\n", "`is`"),
    ("def f(r):\n    match r:\n        case {'k': v}:\n            return v\n", "match"),
    ("def f(r):\n    return type(r)\n", "type()"),
    ("def f(r):\n    return 'x %s' % r\n", "% formatting"),
    ("def f(r):\n    return [x for x in r if x is not None]\n", "`is None`"),
])
def test_observing_code_is_recognised_on_every_version(source: str, reason: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(source, "<observing>", "exec"), namespace)
    assert versions.observing(namespace["f"].__code__) == reason  # type: ignore[attr-defined]


def test_plain_code_does_not_observe() -> None:
    namespace: dict[str, object] = {}
    exec(compile("def f(r):\n    return r['a'] + 1 if r else 0\n", "<plain>", "exec"),
         namespace)
    assert versions.observing(namespace["f"].__code__) is None  # type: ignore[attr-defined]


@op
def nap(x: int) -> int:
    time.sleep(0.05)
    return x


def naps(xs: list[int]) -> list[int]:
    return [nap(x) for x in xs]


def test_a_comprehension_of_ops_stays_parallel_on_every_version() -> None:
    fast = jit(naps)
    started = time.perf_counter()
    assert fast(list(range(8))) == list(range(8))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.25, f"{elapsed:.3f}s for 8 x 50 ms on {sys.version_info[:2]}"


def _body_lines(fn: object) -> set[int]:
    code = fn.__code__  # type: ignore[attr-defined]
    first = code.co_firstlineno
    return set(range(first + 1, first + 4))


def traced_body(x: int) -> int:
    y = slow(x)
    z = y + 1
    return z * 2


def test_a_users_settrace_function_sees_lines_inside_jitted_functions() -> None:
    seen: set[int] = set()

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        if frame.f_code.co_name == "traced_body":
            if event == "line":
                seen.add(frame.f_lineno)
            return tracer
        return None

    sys.settrace(tracer)
    try:
        assert jit(traced_body)(1) == 6
    finally:
        sys.settrace(None)
    assert _body_lines(traced_body) <= seen


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring exists from 3.12")
def test_a_users_monitoring_tool_sees_lines_inside_jitted_functions() -> None:
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    tool = monitoring.DEBUGGER_ID
    assert monitoring.get_tool(tool) is None
    seen: set[int] = set()

    def on_line(code, line):  # type: ignore[no-untyped-def]
        if code.co_name == "traced_body":
            seen.add(line)

    monitoring.use_tool_id(tool, "a user's debugger")
    monitoring.register_callback(tool, monitoring.events.LINE, on_line)
    monitoring.set_events(tool, monitoring.events.LINE)
    try:
        assert jit(traced_body)(1) == 6
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.LINE, None)
        monitoring.free_tool_id(tool)
    assert _body_lines(traced_body) <= seen


def test_the_learned_line_watcher_chains_to_a_users_tracer() -> None:
    # Code without source learns its line; the watcher that handles the learned line
    # must leave the user's own tracer (3.11) or monitoring tool (3.12+) working.
    namespace = {"slow": slow}
    exec(compile("def joined(xs):\n    return '+'.join([str(slow(x)) for x in xs])\n",
                 "<no source>", "exec"), namespace)
    joined = jit(namespace["joined"])
    assert joined([1, 2]) == "2+3"  # learns the line
    if sys.version_info < (3, 12):
        calls: list[str] = []

        def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
            if event == "call":
                calls.append(frame.f_code.co_name)
            return None

        sys.settrace(tracer)
        try:
            assert joined([3, 4]) == "4+5"
        finally:
            sys.settrace(None)
        assert "joined" in calls
    else:
        assert joined([3, 4]) == "4+5"


class _Probe:
    seen: list[str | None] = []

    def _note(self) -> int:
        caller = sys._getframe(2)  # the frame whose instruction ran the method calling this
        _Probe.seen.append(versions.calling(caller.f_code, caller.f_lasti))
        return 0

    @property
    def prop(self) -> int:
        return self._note()

    def __getitem__(self, i: int) -> int:
        if i > 0:
            raise IndexError(i)
        return self._note()

    def __iter__(self) -> _Probe:
        return self

    def __next__(self) -> int:
        return self._note()

    def method(self) -> int:
        return self._note()


def _instructions(probe: _Probe) -> None:
    probe.prop  # noqa: B018 - the read is the point
    probe[0]  # noqa: B018
    next(probe)
    for _ in probe:
        break
    probe.method()


def test_calling_names_the_instruction_that_ran_the_code_on_every_version() -> None:
    expected = ["attribute", "subscript", None, "iteration", None]
    for _ in range(50):  # later turns run the specialised (adaptive) instructions
        _Probe.seen.clear()
        _instructions(_Probe())
        assert _Probe.seen == expected
