"""Everyday pipeline patterns keep their plain-Python meaning under ``@jit`` (issue 14).

Each pattern is written the way users write it and run plainly and jitted, on first
and later calls with changing inputs: same value, same exception (type and message),
same op calls, same glue side effects. Where parallelism is the point, the first call
must also overlap its ops.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import enum
import functools
import gc
import json
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ember.xcs import get_jit_stats, jit, op
from ember.xcs.tracing.lazy import Lazy

CALLS: list[str] = []
_lock = threading.Lock()


def _called(tag: str) -> None:
    with _lock:
        CALLS.append(tag)


@op
def llm(prompt: object) -> str:
    _called(f"llm:{prompt}")
    time.sleep(0.01)
    return f"<{prompt}>"


@op
def maybe(prompt: str) -> str | None:
    _called(f"maybe:{prompt}")
    time.sleep(0.01)
    return None if prompt.endswith("0") else prompt.upper()


@op
def record(x: int) -> dict[str, object]:
    _called(f"record:{x}")
    time.sleep(0.01)
    return {"answer": x, "items": [x, x + 1], "usage": None}


@op
def pair(x: int) -> tuple[int, int]:
    _called(f"pair:{x}")
    time.sleep(0.01)
    return (x, x * 2)


@op
def slow(x: int) -> str:
    _called(f"slow:{x}")
    time.sleep(0.1)
    return f"s{x}"


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[object, list[str]]:
    """What a call did: its value or exception, and the ops it called (sorted)."""
    with _lock:
        CALLS.clear()
    try:
        result: object = ("ok", fn(*args))
    except Exception as error:  # noqa: BLE001 - compared, not hidden
        result = ("raised", type(error), str(error))
    with _lock:
        return result, sorted(CALLS)


def same_meaning(fn: Callable[..., Any], *inputs: Any) -> None:
    """``jit(fn)`` behaves as ``fn`` on each input in turn (first and later calls)."""
    fast = jit(fn)
    for value in inputs:
        args = value if isinstance(value, tuple) else (value,)
        assert outcome(fast, *args) == outcome(fn, *args), f"{fn.__name__}{args}"


def no_lazy_alive() -> bool:
    gc.unfreeze()  # tests/conftest.py freezes earlier tests' objects: look at them all
    gc.collect()
    return not any(type(o) is Lazy for o in gc.get_objects())


# -- identity -------------------------------------------------------------------------

class Status(enum.Enum):
    DONE = "DONE"


@op
def status(x: int) -> Status | str:
    return Status.DONE if x % 2 else "pending"


def identity_checks(n: int) -> list[object]:
    replies = [maybe(f"q{i}") for i in range(n)]
    kept = [r for r in replies if r is not None]
    first = replies[0]
    verdicts = ["none" if first is None else "some", status(n) is Status.DONE,
                llm(n) is True, status(n + 1) is not Status.DONE]
    return [kept, verdicts]


def test_identity() -> None:
    same_meaning(identity_checks, 1, 3, 4)


# -- type checks ----------------------------------------------------------------------

def type_checks(x: int) -> list[object]:
    r = record(x)
    t = llm(x)
    return [type(r) is dict, type(t).__name__, callable(r), callable(t.upper),
            hasattr(t, "usage"), hasattr(t, "upper"), getattr(t, "usage", None),
            getattr(r, "keys") is not None, isinstance(r, dict), id(r) == id(r)]


def test_type_checks() -> None:
    same_meaning(type_checks, 1, 2)


# -- match ----------------------------------------------------------------------------

@dataclasses.dataclass
class Point:
    x: int
    y: int


@op
def shape(kind: str) -> object:
    return {"mapping": {"kind": "circle", "r": 2}, "sequence": [1, 2, 3],
            "point": Point(1, 2), "none": None, "text": "hello"}[kind]


def match_on(kind: str) -> str:
    value = shape(kind)
    match value:
        case {"kind": "circle", "r": radius}:
            return f"circle {radius}"
        case [first, *rest]:
            return f"sequence {first} {rest}"
        case Point(x=1, y=y):
            return f"point {y}"
        case None:
            return "nothing"
        case str() as text:
            return f"text {text}"
        case _:
            return "other"


def test_match() -> None:
    same_meaning(match_on, "mapping", "sequence", "point", "none", "text")


# -- printf formatting ----------------------------------------------------------------

def percent(x: int) -> str:
    best = pair(x)
    return "best: %s and %s" % best  # noqa: UP031 - printf formatting is the point


def percent_too_many(x: int) -> str:
    return "best: %s" % pair(x)  # noqa: UP031 - printf formatting is the point


def test_percent_formatting() -> None:
    same_meaning(percent, 1, 2)
    same_meaning(percent_too_many, 3)  # TypeError: not all arguments converted


# -- membership -----------------------------------------------------------------------

PRINTED: list[str] = []


def membership(x: int) -> list[object]:
    PRINTED.append(f"start {x}")  # a glue side effect: must happen once per call
    reply, raw = llm(x), llm(x).encode()
    kept = [r for r in [llm(i) for i in range(x)] if r not in "<0>"]
    return [reply in f"..<{x}>..", reply not in "<0>", raw in b"<1><2>", f"<{x}>" in reply,
            reply in [f"<{x}>"], reply in {"<1>": 1}, kept, "yes" if reply in "<2>" else "no"]


def membership_wrong_type(x: int) -> bool:
    return llm(x) in b"bytes"  # TypeError: a bytes-like object is required, not 'str'


def test_membership_in_strings_and_bytes() -> None:
    same_meaning(membership, 1, 2, 3)
    same_meaning(membership_wrong_type, 1)
    PRINTED.clear()
    fast = jit(membership)
    assert [fast(1), fast(2)] == [membership(1), membership(2)]
    assert PRINTED == ["start 1", "start 2", "start 1", "start 2"]  # no glue line ran twice
    assert get_jit_stats(fast)["reruns"] == 0


# -- numpy ----------------------------------------------------------------------------

@op
def score(x: int) -> float:
    return x / 2


def numpy_math(x: int) -> list[object]:
    np = pytest.importorskip("numpy")
    r1, r2 = score(x), score(x + 1)
    scaled = np.arange(3) * r1
    return [scaled.dtype.kind, scaled.tolist(), float(np.mean([r1, r2])), np.add(r1, 1.0)]


def test_numpy() -> None:
    same_meaning(numpy_math, 2, 5)


# -- escapes ---------------------------------------------------------------------------

GLOBAL_LAST: dict[str, object] = {}
LAST_REPLY: object = None


class Agent:
    def __init__(self) -> None:
        self.history: list[object] = []
        self.last: object = None

    def step(self, q: str) -> str:
        reply = llm(q)
        self.history.append(reply)
        self.last = reply
        return "stepped"


def store_everywhere(q: str, sink: list[object], table: dict[object, object],
                     memo: list[object] = []) -> types.SimpleNamespace:  # noqa: B006
    global LAST_REPLY
    reply = llm(q)
    GLOBAL_LAST["reply"] = reply
    LAST_REPLY = reply
    sink.append(reply)
    table[reply] = len(q)
    memo.append(reply)
    counter = collections.Counter([reply, reply])
    table["counter"] = counter
    return types.SimpleNamespace(reply=reply, nested={"r": reply})


def test_lazy_values_never_outlive_the_call() -> None:
    agent = Agent()
    step = jit(Agent.step)
    assert step(agent, "hi") == "stepped" and step(agent, "there") == "stepped"
    assert json.dumps(agent.history) == '["<hi>", "<there>"]'
    assert type(agent.last) is str and agent.last == "<there>"

    sink: list[object] = []
    table: dict[object, object] = {}
    fast = jit(store_everywhere)
    result = fast("abc", sink, table)
    assert type(result.reply) is str and type(result.nested["r"]) is str
    assert json.dumps(sink) == '["<abc>"]' and type(GLOBAL_LAST["reply"]) is str
    assert type(LAST_REPLY) is str
    assert [type(k) for k in table] == [str, str]
    assert table["counter"] == collections.Counter({"<abc>": 2})
    assert all(type(v) is str for v in store_everywhere.__defaults__[0])
    assert no_lazy_alive()


def test_lazy_values_never_outlive_the_call_in_objects_frozen_by_gc_freeze() -> None:
    # Forking servers call gc.freeze() after start-up: module state is then out of
    # the collector's sight, and must still never keep a lazy value.
    import gc

    module_state: dict[str, list[object]] = {"sink": []}
    box: list[object] = []  # made before the freeze: frozen

    def put(new: object) -> None:
        list.append(box, new)  # through the unbound method: found only by searching the heap

    gc.freeze()
    try:
        fresh: list[object] = []  # made after the freeze: not frozen
        jit(lambda q: fresh.append(llm(q)))("young")
        assert fresh == ["<young>"] and type(fresh[0]) is str
        assert gc.get_freeze_count() > 0  # nothing was held by a frozen object: still frozen

        # Stores the glue was seen making are repaired where they were made, frozen or not.
        jit(store_everywhere)("frozen", module_state["sink"], {})
        assert type(LAST_REPLY) is str and LAST_REPLY == "<frozen>"
        assert json.dumps(module_state["sink"]) == '["<frozen>"]'

        jit(lambda q: put(llm(q)))("boxed")
        assert type(box[0]) is str and box == ["<boxed>"]
        assert gc.get_freeze_count() == 0  # searched, and not frozen again (no leak)
    finally:
        gc.unfreeze()
    assert no_lazy_alive()


@functools.cache
def cached_summary(doc: str) -> str:
    return llm(f"summary of {doc}")


def uses_a_cache(doc: str) -> str:
    return cached_summary(doc) + "!"


def test_functools_cache_holds_real_values() -> None:
    fast = jit(uses_a_cache)
    assert fast("d1") == "<summary of d1>!"
    assert type(cached_summary("d1")) is str  # the cache holds the value, not a proxy
    assert fast("d1") == "<summary of d1>!"  # a hit
    assert no_lazy_alive()


# -- op arguments are resolved deeply ---------------------------------------------------

@dataclasses.dataclass
class Question:
    text: object
    context: object


class Envelope:
    def __init__(self, payload: object) -> None:
        self.payload = payload


@op
def inspect_argument(value: object) -> str:
    found: list[str] = []

    def walk(item: object) -> None:
        if type(item) is Lazy:
            found.append("LAZY")
        elif isinstance(item, list | tuple | set | frozenset):
            for sub in item:
                walk(sub)
        elif isinstance(item, dict):
            for sub in item.values():
                walk(sub)
        elif dataclasses.is_dataclass(item) or hasattr(item, "__dict__"):
            for sub in vars(item).values():
                walk(sub)

    walk(value)
    return "lazy inside" if found else "all real"


def nested_arguments(x: int) -> list[str]:
    reply = llm(x)
    return [inspect_argument(Question(reply, [reply])), inspect_argument(Envelope(reply)),
            inspect_argument({reply}), inspect_argument({"k": (reply,)})]


def test_op_arguments_are_resolved_deeply() -> None:
    same_meaning(nested_arguments, 1)
    assert jit(nested_arguments)(2) == ["all real"] * 4


# -- ordered effects ------------------------------------------------------------------

@op
def words(x: int) -> list[str]:
    time.sleep(0.01)
    return [f"w{x}", "a", "m"]


@op
def settings(x: int) -> dict[str, int]:
    time.sleep(0.01)
    return {"x": x}


@op
def describe(value: object) -> str:
    return repr(value)


def mutations(x: int) -> list[object]:
    r = words(x)
    r.sort()
    first = r[0]
    d = settings(x)
    d.update(extra=1)
    extra = d["extra"]
    r.append("z")
    seen = describe(r)
    alias = r
    r += ["plus"]
    table = d
    table |= {"more": 2}
    return [first, extra, seen, alias, d, alias is r]


def test_in_place_changes_are_ordered_and_seen_by_aliases() -> None:
    same_meaning(mutations, 1, 7)


# -- no glue repeated, no extra ops ---------------------------------------------------------

HISTORY: list[str] = []
COUNTER = iter(range(10_000))


def glue_with_effects(q: str) -> str:
    HISTORY.append(q)
    ident = next(COUNTER)
    reply = llm(f"{q}#{ident}")
    return json.dumps({"reply": reply, "history": len(HISTORY)})


def test_glue_side_effects_happen_once_and_no_extra_ops() -> None:
    global COUNTER
    HISTORY.clear()
    COUNTER = iter(range(10_000))
    expected = [glue_with_effects("a"), glue_with_effects("b")]
    HISTORY.clear()
    COUNTER = iter(range(10_000))
    fast = jit(glue_with_effects)
    CALLS.clear()
    assert [fast("a"), fast("b")] == expected
    assert HISTORY == ["a", "b"]
    assert sorted(CALLS) == ["llm:a#0", "llm:b#1"]


# -- a failure stops the program -------------------------------------------------------

@op
def boom(x: int) -> int:
    _called(f"boom:{x}")
    raise ValueError(f"boom {x}")


def fails_then_continues(x: int) -> list[object]:
    first = boom(x)
    time.sleep(0.05)  # by now the failure is known
    _called("glue after the failure")
    return [first, llm(x)]


def lifted_failure(x: int) -> list[object]:
    d = record(x)
    missing = d["missing"]
    time.sleep(0.05)
    return [missing, llm(x)]


def test_nothing_runs_after_a_known_failure() -> None:
    same_meaning(fails_then_continues, 1)
    same_meaning(lifted_failure, 2)


# -- pydantic -------------------------------------------------------------------------

def test_pydantic_models_from_op_results_overlap() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Answer(pydantic.BaseModel):
        question: str
        text: str

    def answers(qs: list[str]) -> list[Any]:
        return [Answer(question=q, text=slow_text(q)) for q in qs]

    fast = jit(answers)
    for call in range(2):
        qs = [f"q{call}{i}" for i in range(8)]
        started = time.perf_counter()
        result = fast(qs)
        assert time.perf_counter() - started < 0.25
        assert result == answers(qs)
        assert all(type(a) is Answer for a in result)


@op
def slow_text(q: str) -> str:
    time.sleep(0.1)
    return f"text {q}"


# -- parallel where plain semantics allow -------------------------------------------------

class Chat:
    def __init__(self) -> None:
        self.history: list[object] = []

    def run(self, qs: list[int]) -> list[object]:
        for q in qs:
            r = slow(q)
            self.history.append(r)
        return self.history


def filtered(qs: list[int]) -> list[object]:
    rs = [slow(q) for q in qs]
    return [r for r in rs if r is not None]


def matched(qs: list[int]) -> list[str]:
    rs = [slow(q) for q in qs]
    out = []
    for r in rs:
        match r:
            case str() as text:
                out.append(text)
            case _:
                out.append("?")
    return out


@pytest.mark.parametrize("make", [
    lambda: jit(lambda qs: [slow(q) for q in qs]),
    lambda: jit(Chat().run),
    lambda: jit(filtered),
    lambda: jit(matched),
], ids=["comprehension", "history loop", "is not None filter", "match"])
def test_eight_ops_overlap_on_the_first_call(make: Callable[[], Any]) -> None:
    fast = make()
    started = time.perf_counter()
    result = fast(list(range(8)))
    elapsed = time.perf_counter() - started
    assert [str(r) for r in result] == [f"s{i}" for i in range(8)]
    assert elapsed < 0.25, f"{elapsed:.3f}s for 8 x 100 ms ops ({sys.version_info[:2]})"


@functools.lru_cache(maxsize=32)
def bounded_summary(doc: str) -> str:
    return llm(f"bounded {doc}")


def test_a_bounded_lru_cache_called_by_the_glue_holds_real_values() -> None:
    # docs/semantics.md: the cache runs its function with the ops at their call, so the
    # entry it keeps where escape repair cannot reach is the value.
    fast = jit(lambda doc: bounded_summary(doc) + "!")
    assert fast("d") == "<bounded d>!"
    cached = bounded_summary("d")
    assert type(cached) is str and cached == "<bounded d>"
    assert get_jit_stats(fast)["unrepaired_escapes"] == {}
    bounded_summary.cache_clear()


# -- user callables: callable instances, local names, self-reference, no source ----------

def _step_class() -> type:
    """A fresh user class with a Python ``__init__`` and ``__call__`` (new cache keys)."""

    class Step:
        def __init__(self, value: object) -> None:
            self.missing = value is None

        def __call__(self, q: str) -> list[object]:
            reply = maybe(q)
            return [self.missing, reply is None, type(reply).__name__]

    return Step


def test_a_class_built_then_its_instance_called() -> None:
    step = _step_class()

    def run(q: str) -> list[object]:
        return step(maybe(q))(q)

    same_meaning(run, "q0", "q1")


def test_an_instance_called_then_its_class_built() -> None:
    step = _step_class()
    assert jit(lambda s: s("q1"))(step("x")) == [False, False, "str"]

    def run(q: str) -> bool:
        return bool(step(maybe(q)).missing)

    same_meaning(run, "q0", "q1")


def local_names(q: str) -> list[object]:
    @dataclasses.dataclass
    class Answer:
        text: str

    def fmt(a: str, b: str) -> str:
        return a + b

    out: list[object] = [repr(Answer(llm(q))), fmt.__qualname__, Answer.__qualname__]
    try:
        fmt(q)  # type: ignore[call-arg]
    except TypeError as error:
        out.append(str(error))
    return out


def test_names_defined_in_jitted_code_keep_their_plain_qualified_names() -> None:
    same_meaning(local_names, "a", "b")
    assert jit(local_names)("a")[1] == "local_names.<locals>.fmt"


def normalize(v: object) -> object:
    if v is None:
        return []
    if type(v) is list:
        return [normalize(x) for x in v]
    return v


def normalized(q: str) -> object:
    return normalize([maybe(q), maybe(q + "0")])


def tally(v: object) -> list[object]:
    tally.seen = getattr(tally, "seen", 0) + 1  # type: ignore[attr-defined]
    return [v is None, type(v).__name__]


def tallied(q: str) -> list[object]:
    return tally(maybe(q))


class Counter:
    made = 0

    def __init__(self, value: object) -> None:
        Counter.made += 1
        self.empty = value is None


def counted(q: str) -> bool:
    return Counter(maybe(q)).empty


def test_functions_that_name_themselves_keep_their_meaning() -> None:
    same_meaning(normalized, "a", "b0")
    same_meaning(tallied, "a0", "b")
    same_meaning(counted, "a0", "b")


def _without_source() -> tuple[Callable[..., Any], type]:
    namespace: dict[str, Any] = {}
    exec(compile(  # noqa: S102 - the point: user code without a source file
        "def empty(v):\n"
        "    return [v is None, type(v).__name__]\n"
        "class Box:\n"
        "    def __init__(self, v):\n"
        "        self.empty = v is None\n",
        "<string>", "exec"), namespace)
    return namespace["empty"], namespace["Box"]


def test_user_code_without_source_gets_real_values() -> None:
    empty, box = _without_source()

    def run(q: str) -> list[object]:
        return [empty(maybe(q)), box(maybe(q)).empty]

    same_meaning(run, "a0", "b")


def make_handlers(questions: list[str]) -> list[Any]:
    handlers = []
    for question in questions:
        reply = llm(question)
        handlers.append(lambda reply=reply: reply.upper())  # the loop-binding idiom

        def keyword(*, reply: Any = reply) -> Any:
            return reply + "!"

        handlers.append(keyword)
    return handlers


def test_op_results_bound_as_defaults_of_functions_that_outlive_the_call() -> None:
    for _ in range(2):
        handlers = jit(make_handlers)(["a", "b"])
        assert [handler() for handler in handlers] == \
            [handler() for handler in make_handlers(["a", "b"])] == ["<A>", "<a>!", "<B>", "<b>!"]
        for handler in handlers:
            defaults = (*(handler.__defaults__ or ()), *(handler.__kwdefaults__ or {}).values())
            assert [type(value) for value in defaults] == [str]


def pick_best(questions: list[str]) -> tuple[Any, ...]:
    candidates = [{"text": llm(q), "votes": 0} for q in questions]
    best = max(candidates, key=lambda c: len(c["text"]))
    best["votes"] += 1
    ranked = sorted(candidates, key=lambda c: c["text"])
    ranked[0]["first"] = True
    return candidates, [c is best for c in candidates]


def test_max_and_sorted_over_glue_dicts_hand_back_the_dicts_themselves() -> None:
    for questions in (["a", "bbb"], ["cc", "d", "eeee"]):
        assert jit(pick_best)(questions) == pick_best(questions)


class Reply:
    def __init__(self, text: Any) -> None:
        self.text = text

    def log_to(self, events: list[Any]) -> None:
        events.append(self.text)

    def __str__(self) -> str:
        return self.text  # type: ignore[no-any-return]


@op
def ask_reply(question: str) -> Reply:
    time.sleep(0.005)
    return Reply(f"reply:{question}")


@op
def history_of(question: str) -> list[dict[str, str]]:
    time.sleep(0.005)
    return [{"role": "user", "content": question}]


def store_into_results(question: str) -> tuple[Any, ...]:
    history = history_of(question)
    message = {"role": "assistant", "content": ""}
    history.append(message)          # stores the glue's dict itself ...
    message["content"] = "done"      # ... so this shows through history
    events: list[Any] = []
    ask_reply(question).log_to(events)
    return history, events


def test_glue_objects_stored_into_op_results_keep_their_identity() -> None:
    assert jit(store_into_results)("a") == store_into_results("a")


GLUE_LOG: list[str] = []


class Turns:
    def __init__(self) -> None:
        self.turn = 0

    def ask(self, question: str) -> Reply:
        self.turn += 1
        return Reply(llm(f"[turn {self.turn}] {question}"))


def dunder_and_json(agent: Turns, question: str) -> tuple[Any, ...]:
    GLUE_LOG.append(f"asked {question}")
    reply = agent.ask(question)
    return str(reply), json.dumps(Reply(llm(question)), default=vars), agent.turn


def test_objects_holding_op_results_reach_c_code_resolved_without_a_rerun() -> None:
    fast = jit(dunder_and_json)
    for question in ("a", "b"):
        GLUE_LOG.clear()
        CALLS.clear()
        expected = dunder_and_json(Turns(), question)
        plain_effects = (list(GLUE_LOG), sorted(CALLS))
        GLUE_LOG.clear()
        CALLS.clear()
        assert fast(Turns(), question) == expected
        assert (GLUE_LOG, sorted(CALLS)) == plain_effects
    assert get_jit_stats(fast)["reruns"] == 0


# -- calls from several threads sharing state -------------------------------------------

SHARED_LOG: list[str] = []


def log_and_join(prompt: str) -> str:
    SHARED_LOG.append(llm(prompt))  # other calls' results are in this list too
    return " / ".join(SHARED_LOG)


def test_calls_from_threads_sharing_a_list_see_each_others_values() -> None:
    fast = jit(log_and_join)
    for _ in range(15):
        SHARED_LOG.clear()
        errors: list[BaseException] = []
        results: list[str] = []

        def worker(prompt: str) -> None:
            try:
                results.append(fast(prompt))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(str(i),)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(SHARED_LOG) == [f"<{i}>" for i in range(4)]
        assert all(type(item) is str for item in SHARED_LOG)
        # Each call joined the entries present when it read the list: its own among them.
        assert all(set(result.split(" / ")) <= set(SHARED_LOG) for result in results)
        assert len(results) == 4
    assert no_lazy_alive()


# -- containers whose update means something else ---------------------------------------

TALLIES: list[collections.Counter[str]] = []


@op
def label(prompt: str) -> str:
    time.sleep(0.005)
    return prompt.upper()


def count_labels(prompts: list[str]) -> list[object]:
    counts: collections.Counter[str] = collections.Counter()
    seen: set[str] = set()
    for prompt in prompts:
        counts[label(prompt)] += 1
        seen.add(label(prompt))
    TALLIES.append(collections.Counter({label(prompts[0]): 5}))  # escapes the call
    return [counts, sorted(seen), collections.OrderedDict({label("k"): 1})]


def test_counters_keyed_by_results_keep_their_counts() -> None:
    TALLIES.clear()
    same_meaning(count_labels, (["a", "b", "a"],), (["x"],), (["c", "c"],))
    assert TALLIES[0::2] == TALLIES[1::2]  # jitted, then plain, per input
    assert all(type(key) is str for tally in TALLIES for key in tally)


# -- functions of the user's handed to a lifted call --------------------------------------

@op
def grade(answer: str) -> dict[str, object]:
    time.sleep(0.005)
    return {"answer": answer, "accuracy": len(answer), "brevity": -len(answer)}


WEIGHT = {"w": 1}


def callbacks_read_their_variables_when_called(answers: list[str]) -> list[object]:
    import json
    import random
    import re

    grades = [grade(a) for a in answers]
    winners = {}
    for criterion in ("accuracy", "brevity"):  # each key reads the loop variable
        winners[criterion] = max(grades, key=lambda g: g[criterion])["answer"]
        winners["min " + criterion] = min(grades, key=lambda g: g[criterion])["answer"]
    letters = []
    for name in ("Ann", "Bob"):
        letters.append(re.sub("NAME", lambda match: name, llm("Dear NAME")))
        letters.append(json.dumps({"to": llm(name), "x": {1}}, default=lambda o: name))
    rng = random.Random(7)
    shuffled = sorted([llm(a) for a in answers], key=lambda _: rng.random())
    coin = rng.random()  # the key must have drawn first, as in plain Python
    WEIGHT["w"] = 1
    weighted = sorted(grades, key=lambda g: WEIGHT["w"] * g["brevity"])
    WEIGHT["w"] = -1
    ordered = [llm(a) for a in answers]
    ordered.sort(key=lambda r: WEIGHT["w"] * len(r))
    WEIGHT["w"] = 1
    return [winners, letters, shuffled, coin, [g["answer"] for g in weighted], ordered]


def test_functions_handed_to_lifted_calls_run_in_program_order() -> None:
    same_meaning(callbacks_read_their_variables_when_called,
                 (["short", "a much longer answer", "medium one"],), (["bb", "a", "ccc"],))


# -- methods and properties of the user's own classes on op results ---------------------

EVENTS: list[str] = []
STYLE = {"brackets": "<>"}


class Draft:
    def __init__(self, text: str) -> None:
        self.text = text

    def record(self) -> str:
        EVENTS.append(f"record {self.text}")  # a side effect, in program order
        return self.text

    @property
    def rendered(self) -> str:
        left, right = STYLE["brackets"]  # reads a global the glue changes afterwards
        return f"{left}{self.text}{right}"


@op
def reply(prompt: str) -> Draft:  # annotated: known from the first call
    time.sleep(0.01)
    return Draft(f"re:{prompt}")


@op
def bare_reply(prompt: str):  # type: ignore[no-untyped-def]  # not annotated: read from
    time.sleep(0.01)                                           # its return statements
    return Draft(f"bare:{prompt}")


@op
def mixed_reply(prompt: str):  # type: ignore[no-untyped-def]  # two classes: learned
    time.sleep(0.01)
    if prompt == "none":
        return None
    return Draft(f"mixed:{prompt}")


def user_methods(prompts: list[str], make: Callable[[str], Any]) -> list[object]:
    EVENTS.clear()
    replies = [make(p) for p in prompts]
    texts = [r.text for r in replies]  # data attributes: still lifted
    shown = []
    for r in replies:
        STYLE["brackets"] = "<>"
        shown.append(r.rendered)
        STYLE["brackets"] = "[]"
        shown.append(r.record())
        EVENTS.append("glue after record")
    STYLE["brackets"] = "<>"
    return [texts, shown, list(EVENTS)]


def test_methods_of_the_users_classes_run_in_program_order() -> None:
    fast = jit(user_methods)
    for prompts in (["a", "b"], ["c"], ["d", "e", "f"]):
        assert fast(prompts, reply) == user_methods(prompts, reply)
    unannotated = jit(user_methods)
    for prompts in (["a", "b"], ["c"]):  # from the first call on
        assert unannotated(prompts, bare_reply) == user_methods(prompts, bare_reply)
    learning = jit(user_methods)
    learning(["warm"], mixed_reply)  # the first call learns the op's result type
    for prompts in (["a", "b"], ["c"]):
        assert learning(prompts, mixed_reply) == user_methods(prompts, mixed_reply)


class Styled:
    """A result class whose special methods read a global the glue changes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"{STYLE['brackets'][0]}{self.text}"

    def __add__(self, other: str) -> str:
        return f"{self.text}{STYLE['brackets'][1]}{other}"

    def __eq__(self, other: object) -> bool:
        EVENTS.append(f"compared {self.text}")
        return isinstance(other, Styled) and other.text == self.text

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: Styled) -> bool:
        EVENTS.append(f"ordered {self.text}")
        return self.text < other.text


@op
def styled(prompt: str):  # type: ignore[no-untyped-def]  # its class read from the source
    time.sleep(0.01)
    return Styled(prompt.upper())


def special_methods(prompts: list[str]) -> list[object]:
    EVENTS.clear()
    STYLE["brackets"] = "<>"
    replies = [styled(p) for p in prompts]
    shown = [str(replies[0]), f"{replies[0]}", replies[0] + "!", replies[0] == replies[-1]]
    first = min(replies)
    STYLE["brackets"] = "[]"  # plain Python ran every special method above already
    EVENTS.append("glue after")
    shown.append(first.text)
    STYLE["brackets"] = "<>"
    return [shown, list(EVENTS)]


def test_special_methods_of_the_users_classes_run_in_program_order() -> None:
    same_meaning(special_methods, (["b", "a"],), (["c"],), (["e", "f", "d"],))


def defaults_handed_back(prompts: list[str]) -> list[object]:
    shared: list[str] = []
    tags = record(len(prompts)).get("tags", shared)  # no such key: the default itself
    best = max(shared, [llm(p) for p in prompts])  # max of two: one of them itself
    shared.append("later")
    return [tags, tags is shared, best, best is shared]


def test_lifted_calls_that_give_back_an_argument_give_the_object_itself() -> None:
    same_meaning(defaults_handed_back, (["a"],), ([],), (["b", "c"],))


def test_the_class_an_op_returns_is_read_from_its_source() -> None:
    from ember.xcs.op_runs import return_class

    def constructs(flag: bool):  # type: ignore[no-untyped-def]
        def inner() -> int:
            return 1  # another scope's return: not counted
        if flag:
            return Draft("x")
        return Draft(str(inner()))

    def formats(x: int):  # type: ignore[no-untyped-def]
        return f"{x}" if x else "zero"  # one expression: not a constructor call

    def two_kinds(flag: bool):  # type: ignore[no-untyped-def]
        return Draft("x") if flag else None

    def strings(x: int):  # type: ignore[no-untyped-def]
        if x:
            return f"{x}"
        return "zero"

    assert return_class(constructs) is Draft
    assert return_class(strings) is str
    assert return_class(formats) is None and return_class(two_kinds) is None
    assert return_class(lambda: Draft("x")) is None  # a lambda has no return statement


def test_data_attributes_of_results_of_the_users_classes_stay_parallel() -> None:
    def texts(prompts: list[str]) -> list[str]:
        return [reply(p).text for p in prompts]

    fast = jit(texts)
    started = time.perf_counter()
    assert fast([str(i) for i in range(8)]) == [f"re:{i}" for i in range(8)]
    assert time.perf_counter() - started < 0.06  # 8 ops of 10 ms, overlapped


# -- generators that outlive the call ----------------------------------------------------

def numbered(*items: object) -> Iterator[tuple[int, object]]:
    for index, item in enumerate(items, 1):  # noqa: UP028 - a yield in the user's code
        yield index, item


class Drafts:
    def __init__(self) -> None:
        self.pending: Iterator[object] | None = None

    def prepare(self, q: str) -> Iterator[object]:
        first, second = llm(q + "1"), llm(q + "2")
        self.pending = (draft.upper() for draft in (first, second))
        return (draft for draft in (first, second))


def numbered_results(q: str) -> Iterator[tuple[int, object]]:
    return numbered(llm(q), llm(q + "!"))


def consumed_after_the_call(q: str, prepare: Callable[..., Iterator[object]],
                            make_numbered: Callable[[str], Iterator[object]]) -> list[object]:
    drafts = Drafts()
    returned = list(prepare(drafts, q))  # the call has ended: its generators run now
    assert drafts.pending is not None
    stored = list(drafts.pending)
    helper = list(make_numbered(q))
    return [returned, stored, helper, json.dumps([returned, stored, helper]),
            [type(item).__name__ for item in (*returned, *stored)]]


def inside_the_call(q: str) -> list[object]:
    return list(draft for draft in (llm(q), llm(q + "?")))


def test_generators_that_outlive_the_call_yield_values() -> None:
    for q in ("x", "y"):
        assert consumed_after_the_call(q, jit(Drafts.prepare), jit(numbered_results)) \
            == consumed_after_the_call(q, Drafts.prepare, numbered_results)
    same_meaning(inside_the_call, "a", "b")
    assert no_lazy_alive()


# -- consumers of a whole op result -------------------------------------------------------

@op
def numbers(n: int) -> list[int]:
    time.sleep(0.01)
    return list(range(n))


def totals(n: int) -> list[object]:
    ys, zs = numbers(n), numbers(n + 1)
    return [sum(ys), max(zs), sorted(ys, reverse=True), min(ys + zs), len(ys)]


def test_consumers_of_a_whole_result_are_lifted_not_barriers() -> None:
    same_meaning(totals, 3, 5)
    fast = jit(totals)
    fast(4)
    # sum/max/sorted/min over an op's list wait for nothing in the glue (only len(),
    # which must give an int at once, is a barrier), and no barrier is placed in
    # library code: each names this file.
    barriers = get_jit_stats(fast)["barriers"]
    assert all(__file__ in b for b in barriers), barriers
    assert not any(b.startswith(("isinstance", "iter")) for b in barriers), barriers


# -- the user's objects read by lifted operations; errors the program raises itself -----

@dataclasses.dataclass
class Row:
    doc: str
    summary: object
    status: str = "new"


class Card:
    def __init__(self, doc: str, summary: object) -> None:
        self.doc, self.summary, self.status = doc, summary, "new"

    def __repr__(self) -> str:
        return f"Card({self.doc}, {self.status})"


class Seen:
    def __init__(self) -> None:
        self.keys: list[object] = []

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def add(self, key: object) -> None:
        self.keys.append(key)


def snapshots_then_changes(docs: list[str]) -> list[object]:
    rows = [Row(d, llm(d)) for d in docs]
    as_dicts = [dataclasses.asdict(r) for r in rows]  # read before the change below
    ranked = sorted(rows, key=lambda r: (r.status, r.doc))
    card = Card(docs[0], llm(docs[0]))
    shown = [str(card), repr([card])]
    seen, duplicates = Seen(), []
    for d in docs:
        key = llm(d.lower())
        duplicates.append(key in seen)  # checked before the add, as written
        seen.add(key)
    rows[-1].status = "done"
    card.status = "done"
    return [as_dicts, [r.doc for r in ranked], shown, duplicates]


def test_lifted_operations_read_the_users_objects_before_later_changes() -> None:
    same_meaning(snapshots_then_changes, (["b", "a", "B"],), (["x"],))


def calculator(question: str) -> str:
    EVENTS.append("calculator ran")
    return f"{STYLE['brackets']}:{len(question)}"


@op
def route(question: str) -> Callable[[str], str]:
    time.sleep(0.01)
    return calculator


def picks_a_tool(question: str) -> list[object]:
    EVENTS.clear()
    STYLE["brackets"] = "<>"
    tool = route(question)
    answer = tool(question)  # the tool runs here, before the glue below
    EVENTS.append("after tool")
    STYLE["brackets"] = "[]"
    return [answer, list(EVENTS)]


def test_calling_a_function_an_op_returned_runs_it_in_program_order() -> None:
    same_meaning(picks_a_tool, "abc", "de")


class AttrDict(dict):  # type: ignore[type-arg]
    def __getattr__(self, name: str) -> object:
        return self[name]  # KeyError for a missing key, as such helpers often do


@op
def extract(doc: str) -> AttrDict:
    time.sleep(0.005)
    return AttrDict(title=doc.upper())


def test_results_whose_getattr_raises_key_error_are_not_probed() -> None:
    same_meaning(lambda doc: extract(doc)["title"], "a", "b")


@op
def not_json(question: str) -> str:
    time.sleep(0.005)
    return f"not json: {question}"


def parse_reply(question: str) -> object:
    EVENTS.append(f"start {question}")
    reply = not_json(question)
    try:
        return json.loads(reply)  # the reply's own error: plain Python raises it here
    finally:
        EVENTS.append(f"end {question}")


def test_an_error_the_program_raises_in_a_try_block_never_reruns_the_glue() -> None:
    fast = jit(parse_reply)
    for question in ("a", "b", "c"):
        EVENTS.clear()
        plain = outcome(parse_reply, question), list(EVENTS)
        EVENTS.clear()
        assert (outcome(fast, question), list(EVENTS)) == plain
        assert plain[1] == [f"start {question}", f"end {question}"]
    assert get_jit_stats(fast)["reruns"] == 0


@dataclasses.dataclass(frozen=True)
class FrozenError(Exception):
    code: int


@op
def refuses(code: int) -> int:
    time.sleep(0.005)
    raise FrozenError(code)


def test_an_exception_that_refuses_notes_keeps_its_type() -> None:
    fast = jit(lambda n: [refuses(n), llm(n)])
    with pytest.raises(FrozenError) as caught:
        fast(3)
    assert caught.value.code == 3


@op
def answer_of(question: str) -> dict[str, str]:
    time.sleep(0.005)
    return {"answer": question.upper()}


OFFLOAD = concurrent.futures.ThreadPoolExecutor(1)


def offloads_closures(question: str) -> list[object]:
    reply = answer_of(question)
    kind = OFFLOAD.submit(lambda: type(reply).__name__).result()
    dumped = OFFLOAD.submit(lambda: json.dumps(reply)).result()
    defaulted = OFFLOAD.submit(lambda r=reply: type(r).__name__).result()
    return [kind, dumped, defaulted]


async def offloads_from_a_handler(question: str) -> str:
    import asyncio

    reply = answer_of(question)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: json.dumps(reply))


def test_functions_handed_to_other_threads_see_the_values_they_close_over() -> None:
    import asyncio

    same_meaning(offloads_closures, "a", "b")
    fast = jit(offloads_from_a_handler)
    for question in ("c", "d"):
        assert asyncio.run(fast(question)) == asyncio.run(offloads_from_a_handler(question))


class OffloadJob:
    def __init__(self, reply: object) -> None:
        self.reply = reply

    def kind(self) -> str:
        return type(self.reply).__name__


async def describe_reply(reply: object) -> list[object]:
    return [type(reply).__name__, json.dumps(reply), reply is None]


async def collect(reply: object, into: list[object]) -> None:
    into.extend(await describe_reply(reply))


def offloads_objects_and_coroutines(question: str) -> list[object]:
    import asyncio

    reply = answer_of(question)
    job = OffloadJob(reply)
    of_method = OFFLOAD.submit(job.kind).result()

    def read() -> Any:
        yield type(reply).__name__

    of_generator = OFFLOAD.submit(next, read()).result()
    box: list[object] = []
    thread = threading.Thread(target=asyncio.run, args=(collect(reply, box),))
    thread.start()
    thread.join()
    return [of_method, of_generator, *box]


APP_LOOP = None


def posts_to_the_app_loop(question: str) -> list[object]:
    import asyncio

    reply = answer_of(question)
    POSTED.append(question)  # a glue effect: it happens once, as in plain Python
    assert APP_LOOP is not None
    posted = asyncio.run_coroutine_threadsafe(describe_reply(reply), APP_LOOP)
    return posted.result(timeout=5)


POSTED: list[str] = []


def test_objects_and_coroutines_handed_to_other_threads_see_values() -> None:
    # A bound method of the user's object, a generator and a coroutine of the user's
    # made from op results run on another thread with no trace: they saw the proxies
    # (type 'Lazy'; json.dumps failed, and the call then ran the glue again).
    import asyncio

    global APP_LOOP
    same_meaning(offloads_objects_and_coroutines, "a", "b")
    assert offloads_objects_and_coroutines("a") == ["dict", "dict", "dict",
                                                    '{"answer": "A"}', False]
    APP_LOOP = asyncio.new_event_loop()
    runner = threading.Thread(target=APP_LOOP.run_forever, daemon=True)
    runner.start()
    try:
        fast = jit(posts_to_the_app_loop)
        for question in ("c", "d"):
            POSTED.clear()
            assert fast(question) == ["dict", f'{{"answer": "{question.upper()}"}}', False]
            assert POSTED == [question]
        assert get_jit_stats(fast)["reruns"] == 0
    finally:
        APP_LOOP.call_soon_threadsafe(APP_LOOP.stop)
        runner.join(5)
        APP_LOOP.close()


@op
def extraction(doc: str) -> object:
    time.sleep(0.005)
    return None if doc == "empty" else {"title": doc} if doc != "list" else [doc]


def build_fields(*items: object, **fields: object) -> object:
    return items, fields


def unpacks(doc: str) -> list[object]:
    out: list[object] = []
    for attempt in (lambda: {**extraction(doc), "doc": doc},
                    lambda: build_fields(**extraction(doc)),
                    lambda: build_fields(*extraction(doc)),
                    lambda: build_fields(**None),  # type: ignore[arg-type]
                    lambda: build_fields(*5)):  # type: ignore[misc]
        try:
            out.append(attempt())
        except TypeError as error:  # the type and the message plain Python gives
            out.append(("TypeError", str(error)))
    return out


def test_unpacking_op_results_raises_what_plain_python_raises() -> None:
    same_meaning(unpacks, "empty", "list", "d")


@op
def may_refuse(question: str) -> str:
    time.sleep(0.01)
    if question == "refuse":
        raise ValueError("refused")
    return question.upper()


class Memory:
    def __init__(self) -> None:
        self.last: object = None
        self.cache: dict[str, object] = {}
        self.rows: list[object] = ["row"]
        self.log: list[object] = []


def remember(memory: Memory, question: str) -> object:
    answer = may_refuse(question)
    memory.last = answer  # the glue runs ahead: these stores happen before the failure
    memory.cache["k"] = answer
    memory.rows[0] = answer
    memory.log.append((question, answer))
    return answer


def test_stores_of_a_value_that_never_came_are_undone() -> None:
    def state(fn: Callable[..., Any]) -> list[object]:
        memory = Memory()
        outcomes = [outcome(fn, memory, q) for q in ("x", "refuse")]
        return [outcomes, repr(vars(memory))]

    assert state(jit(remember)) == state(remember)
