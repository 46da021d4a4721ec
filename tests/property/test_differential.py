"""Differential tests: generated programs of ops and glue, jit vs plain Python.

Each generated program mixes op calls, lifted operations, f-strings, ``%``
formatting, ``"".join`` and ``json.dumps``, branches and loops on op results,
``try/except`` around ops, ops that raise (followed by more ops), reads of a module
global that changes between calls, ``is None`` checks, ``type()``, ``match``,
in-place changes of op results (``append``, ``sort``), and op results stored in module
state. Every call of the jitted function must return the same value or raise the same
exception type and message as plain Python, make the same op calls, and leave the
same state behind (with no lazy value in it).
"""

from __future__ import annotations

import collections
import itertools
import json
import linecache
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ember.xcs import jit, op
from ember.xcs.tracing.lazy import Lazy

_calls: collections.Counter[tuple[str, object]] = collections.Counter()
_lock = threading.Lock()


def _count(name: str, value: object) -> None:
    with _lock:
        _calls[(name, repr(value))] += 1


def _jitter(value: object) -> None:
    # Tiny, value-dependent sleeps shuffle the order in which ops finish.
    time.sleep((hash(repr(value)) % 3) * 0.0003)


@op
def inc(value: int) -> int:
    _count("inc", value)
    _jitter(value)
    return value + 1


@op
def word(value: object) -> str:
    _count("word", value)
    _jitter(value)
    return f"w{value}"


@op
def pair(left: object, right: object) -> dict[str, object]:
    _count("pair", (left, right))
    _jitter(left)
    return {"a": left, "b": right}


@op
def maybe(value: int) -> int | None:
    _count("maybe", value)
    _jitter(value)
    return None if value % 2 == 0 else value


@op
def listy(value: int) -> list[int]:
    _count("listy", value)
    _jitter(value)
    return [value % 5, 3, value % 2]


@op
def couple(value: int) -> tuple[int, int]:
    _count("couple", value)
    _jitter(value)
    return (value, value + 1)


@op
def boom(value: int) -> int:
    _count("boom", value)
    _jitter(value)
    if value % 3 == 0:
        raise ValueError(f"boom {value}")
    return value * 2


G: dict[str, int] = {"k": 1}
STATE: list[object] = []
NAMESPACE = {"inc": inc, "word": word, "pair": pair, "boom": boom, "G": G, "json": json,
             "maybe": maybe, "listy": listy, "couple": couple, "STATE": STATE}


@st.composite
def programs(draw: st.DrawFn) -> str:
    """Source of ``def prog(x):`` with typed variables (``ints``/``strs`` track types)."""
    ints = ["x"]
    strs: list[str] = []
    lines: list[str] = []
    counter = 0

    def fresh() -> str:
        nonlocal counter
        counter += 1
        return f"v{counter}"

    for _ in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from([
            "inc", "word", "pair_get", "add", "fstring", "join", "json", "branch", "loop",
            "try", "boom", "global", "len", "method", "compare", "isnone", "type", "match",
            "mutate", "store", "percent", "op_of_fstring",
        ]))
        a = draw(st.sampled_from(ints))
        b = draw(st.sampled_from(ints))
        target = fresh()
        if kind == "inc":
            lines.append(f"{target} = inc({a})")
            ints.append(target)
        elif kind == "word":
            lines.append(f"{target} = word({a})")
            strs.append(target)
        elif kind == "pair_get":
            key = draw(st.sampled_from(["a", "b"]))
            lines.append(f"{target} = pair({a}, {b})[{key!r}]")
            ints.append(target)
        elif kind == "add":
            lines.append(f"{target} = {a} + {b} * 2")
            ints.append(target)
        elif kind == "fstring" and strs:
            s = draw(st.sampled_from(strs))
            lines.append(f"{target} = f'{{{s}}}-{{{a}}}'")
            strs.append(target)
        elif kind == "join":
            lines.append(f"{target} = '|'.join([word({a}), word({b})])")
            strs.append(target)
        elif kind == "json":
            lines.append(f"{target} = json.dumps([{a}, {b}])")
            strs.append(target)
        elif kind == "branch":
            lines += [f"if {a} % 2 == 0:", f"    {target} = inc({b})", "else:",
                      f"    {target} = inc({a})"]
            ints.append(target)
        elif kind == "loop":
            lines += [f"{target} = {b}", f"for _ in range({a} % 3):",
                      f"    {target} = inc({target})"]
            ints.append(target)
        elif kind == "try":
            lines += ["try:", f"    {target} = boom({a})", "except ValueError as error:",
                      f"    {target} = len(str(error))"]
            ints.append(target)
        elif kind == "boom":
            lines.append(f"{target} = boom({a})")
            ints.append(target)
        elif kind == "global":
            lines.append(f"{target} = inc(G['k'] + {a})")
            ints.append(target)
        elif kind == "len" and strs:
            s = draw(st.sampled_from(strs))
            lines.append(f"{target} = len({s}) + {a}")
            ints.append(target)
        elif kind == "method" and strs:
            s = draw(st.sampled_from(strs))
            lines.append(f"{target} = {s}.upper().replace('W', 'x')")
            strs.append(target)
        elif kind == "compare":
            lines.append(f"{target} = ({a} > {b})")
            ints.append(target)
        elif kind == "isnone":
            lines.append(f"{target} = 1 if maybe({a}) is None else 2")
            ints.append(target)
        elif kind == "type":
            lines.append(f"{target} = len(type(word({a})).__name__) + {b}")
            ints.append(target)
        elif kind == "match":
            lines += [f"match pair({a}, {b}):",
                      "    case {'a': 0, 'b': _}:",
                      f"        {target} = 100",
                      f"    case {{'a': first_{target}, 'b': second_{target}}}:",
                      f"        {target} = first_{target} - second_{target}"]
            ints.append(target)
        elif kind == "mutate":
            lines += [f"items_{target} = listy({a})", f"items_{target}.append({b})",
                      f"items_{target}.sort()", f"{target} = items_{target}[0]"]
            ints.append(target)
        elif kind == "store":
            lines.append(f"STATE.append(word({a}))")
        elif kind == "percent":
            lines.append(f"{target} = '%s/%s' % couple({a})")
            strs.append(target)
        elif kind == "op_of_fstring" and strs:
            s = draw(st.sampled_from(strs))
            lines.append(f"{target} = word(f'<{{{s}}}>')")
            strs.append(target)
    returned = draw(st.lists(st.sampled_from(ints + strs), min_size=1, max_size=3))
    body = "\n    ".join(lines) or "pass"
    return f"def prog(x):\n    {body}\n    return [{', '.join(returned)}]\n"


def _outcome(fn: object, x: int) -> tuple[object, collections.Counter[tuple[str, object]]]:
    with _lock:
        _calls.clear()
    STATE.clear()
    try:
        result: object = ("ok", fn(x))  # type: ignore[operator]
    except Exception as error:  # noqa: BLE001 - compared, not hidden
        result = ("raised", type(error), str(error))
    state = list(STATE)
    assert all(type(item) is not Lazy for item in state), "a lazy value outlived the call"
    reruns = getattr(fn, "stats", lambda: {"reruns": 0})()["reruns"]
    with _lock:
        return (result, state, reruns), collections.Counter(_calls)


_programs = itertools.count()


def _check(source: str, inputs: list[int], globals_seq: list[int],
           with_source: bool = True) -> None:
    namespace = dict(NAMESPACE)
    filename = f"<generated program {next(_programs)}>"
    if with_source:  # as a notebook cell: the tracer can read (and rewrite) it
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    plain = namespace["prog"]
    fast = jit(plain)
    for x, global_value in zip(inputs, globals_seq):
        G["k"] = global_value
        reruns_before = fast.stats()["reruns"]
        (expected, expected_state, _), expected_calls = _outcome(plain, x)
        (actual, actual_state, reruns_after), actual_calls = _outcome(fast, x)
        assert actual == expected, f"x={x} G={global_value}\n{source}"
        if reruns_after > reruns_before:
            # The last resort (code without source): the glue ran again from the top,
            # so its own stores happened again (docs/semantics.md, "Known limits").
            assert with_source is False, f"a rerun of rewritten code\n{source}"
            if expected[0] == "ok":
                assert set(actual_state) == set(expected_state), f"x={x}\n{source}"
            else:  # and it may have run ahead of the failure too (see below)
                assert set(expected_state) <= set(actual_state), f"x={x}\n{source}"
        elif expected[0] == "ok":
            assert actual_state == expected_state, f"x={x}\n{source}"
        else:
            # The glue may run ahead of an op whose failure is not known yet: what it
            # stored before the failure is there, in order; at most every later store
            # site adds one more (docs/semantics.md, "after a failure").
            assert actual_state[:len(expected_state)] == expected_state, f"x={x}\n{source}"
            assert len(actual_state) - len(expected_state) <= source.count("STATE.append")
        if expected[0] == "ok":
            assert actual_calls == expected_calls, f"x={x}\n{source}"
        else:
            # Every op plain Python called ran under jit too. Ops issued after the
            # failing one (in program order) may already have started before the
            # failure was known: speculation, bounded by the ops the program text
            # could issue after it (each call site at most 3 times, the loop bound).
            missing = expected_calls - actual_calls
            assert not missing, f"x={x} missing {missing}\n{source}"
            extra = sum(actual_calls.values()) - sum(expected_calls.values())
            assert extra <= 3 * source.count("("), f"x={x}\n{source}"


# About a minute alone; escape repair walks the heap, which is large late in a full run
# on a busy machine: a longer limit than the suite's five minutes.
@pytest.mark.timeout(900)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=programs(),
    inputs=st.lists(st.integers(-5, 12), min_size=3, max_size=3),
    globals_seq=st.lists(st.integers(0, 6), min_size=3, max_size=3),
)
def test_jit_matches_plain_python(source: str, inputs: list[int], globals_seq: list[int]) -> None:
    _check(source, inputs, globals_seq)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=programs(),
    inputs=st.lists(st.integers(-5, 12), min_size=2, max_size=2),
    globals_seq=st.lists(st.integers(0, 6), min_size=2, max_size=2),
)
def test_code_without_source_matches_plain_python(source: str, inputs: list[int],
                                                  globals_seq: list[int]) -> None:
    # No source to rewrite: proxies, learned barriers and eager runs keep the meaning.
    _check(source, inputs, globals_seq, with_source=False)


def test_generator_covers_every_construct() -> None:
    # The generator must really produce the constructs the docstring promises.
    seen: set[str] = set()

    # Derandomized, with enough examples that every construct shows up: the rarest
    # (an f-string argument to an op) is missing from some random runs of 200.
    @settings(max_examples=1000, deadline=None, derandomize=True)
    @given(programs())
    def collect(source: str) -> None:
        for marker in MARKERS:
            if marker in source:
                seen.add(marker)

    collect()
    assert seen == set(MARKERS)


MARKERS = ("try:", "'|'.join", "json.dumps", "if ", "for _", "boom(", "G['k']", "f'",
           ".upper()", " is None", "type(", "match ", ".sort()", "STATE.append", "' % ",
           "word(f'")
