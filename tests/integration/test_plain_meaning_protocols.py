"""Code of the user's that Python's own machinery runs keeps its plain meaning.

A ``case`` pattern reads the subject's attributes and items itself, and decides a
sequence or mapping pattern by the type of what it read; a property of the subject's
class may call an op there, or give back an op result kept elsewhere. Formatting
(f-strings, ``%``, ``str.format``, ``print``) runs the user's ``__str__``, ``__repr__``
or ``__format__``, which may return an op result kept in an attribute, or call an op,
and C code refuses anything but a ``str``.
The interpreter also acts on the exceptions of code it runs: a ``StopIteration`` ends a
loop over an iterator whose ``__next__`` raised it, and becomes a ``RuntimeError`` in a
generator (PEP 479); an ``IndexError`` ends an iteration over an old-style sequence; an
``AttributeError`` from a property falls back to the class's ``__getattr__``, and makes
``hasattr`` false. Ops called there run at their call, so that their exceptions are met
where plain Python meets them.
Each program runs plainly and jitted, on first and later calls, and must give the same
value (or exception), with each op called as often as in plain Python and the glue's
side effects happening once.
"""

from __future__ import annotations

import string
import time
from collections import Counter

import pytest

from ember.xcs import TracingError, get_jit_stats, jit, op

CALLS: Counter[str] = Counter()


@op
def parse(text: str) -> dict[str, object]:
    CALLS[text] += 1
    time.sleep(0.003)
    words = text.split()
    return {"intent": words[0], "words": words, "head": {"word": words[0]}}


class Turn:
    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def parsed(self) -> dict[str, object]:
        return parse(self.text)

    @property
    def words(self) -> object:
        return self.parsed["words"]


class Outer:
    __match_args__ = ("turn",)

    def __init__(self, text: str) -> None:
        self.turn = Turn(text)


def route(text: str) -> tuple[object, ...]:
    match Turn(text):
        case Turn(words=["search", *query]):
            return ("search", query)
        case Turn(parsed={"intent": "help"}):
            return ("help",)
        case _:
            return ("chat",)


def nested(text: str) -> tuple[object, ...]:
    match Outer(text):
        case Outer(Turn(parsed={"head": {"word": "go"},
                                "words": [_, where]})):
            return ("go", where)
        case Outer(Turn(words=[*_, "please"] | ["pretty", "please", *_])):
            return ("polite",)
        case Outer(turn=Turn(parsed={"intent": str(intent)})):
            return ("other", intent)
    return ("none",)


@pytest.mark.parametrize("program", [route, nested], ids=lambda p: p.__name__)
def test_a_pattern_on_a_property_that_calls_an_op_matches_as_in_plain_python(program) -> None:
    jitted = jit(program)
    for text in ["search cats dogs", "help me", "hi", "go north", "stop now please",
                 "pretty please stop", "search x"]:
        CALLS.clear()
        plain = program(text)
        plain_calls = dict(CALLS)
        CALLS.clear()
        assert jitted(text) == plain, text
        assert dict(CALLS) == plain_calls, text  # each case's read calls the op again
    reasons = {entry.split(" at ")[0] for entry in get_jit_stats(jitted)["barriers"]}
    assert reasons == {"eager op (match pattern)"}


@op
def summarize(text: str) -> str:
    CALLS[text] += 1
    time.sleep(0.003)
    return f"summary({text})"


class Note:
    def __init__(self, text: str) -> None:
        self.summary = summarize(text)  # an op result kept in an attribute

    def __str__(self) -> str:
        return self.summary

    __repr__ = __str__


class Live:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return summarize(self.text)  # an op called by the special method itself

    def __repr__(self) -> str:
        return "Live:" + summarize(self.text)

    def __format__(self, spec: str) -> str:
        return summarize(spec + self.text)


LOG: list[str] = []


def note_fstring(t: str) -> str:
    LOG.append(t)
    return f"Note: {Note(t)} / {[Note(t + '2')]!s}"


def note_percent(t: str) -> str:
    LOG.append(t)
    pair = "Note: %s, %s" % (Note(t), Note(t + "2"))  # noqa: UP031 - printf is the point
    return pair + "; %s" % Note(t + "3")  # noqa: UP031


def live_fstring(t: str) -> str:
    LOG.append(t)
    return f"{Live(t)} / {Live(t):>8} / {[Live(t)]} / {Live(t)!r}"


def live_format_and_join(t: str) -> str:
    LOG.append(t)
    printf = "%r" % Live(t)  # noqa: UP031 - printf formatting is the point
    return " | ".join([format(Live(t), "<"), "{}".format(Live(t)),  # noqa: UP032
                       str(Live(t)), ", ".join(map(str, [Live(t), Live(t + "2")])),
                       string.Template("$c").substitute(c=Live(t)), printf])


def live_print(t: str) -> None:
    LOG.append(t)
    print(Live(t), Note(t), sep="/")


@pytest.mark.parametrize("program", [note_fstring, note_percent, live_fstring,
                                     live_format_and_join, live_print],
                         ids=lambda p: p.__name__)
def test_special_methods_giving_op_results_format_as_in_plain_python(program, capsys) -> None:
    jitted = jit(program)
    for text in ["x", "y"]:
        CALLS.clear()
        LOG.clear()
        plain = program(text)
        expected = (dict(CALLS), list(LOG), capsys.readouterr().out)
        CALLS.clear()
        LOG.clear()
        assert jitted(text) == plain
        assert (dict(CALLS), list(LOG), capsys.readouterr().out) == expected
    assert get_jit_stats(jitted)["reruns"] == 0  # the glue ran once per call


@op
def first_match(items: list[str], prefix: str) -> str:
    CALLS[prefix] += 1
    time.sleep(0.003)
    return next(x for x in items if x.startswith(prefix))  # StopIteration if none


DOCS = ["apple pie", "banana split", "cherry tart"]


def via_genexp(prefixes: list[str]) -> list[str]:
    return list(first_match(DOCS, p) for p in prefixes)


def via_generator(prefixes: list[str]) -> list[str]:
    def matches():  # type: ignore[no-untyped-def]
        for p in prefixes:
            yield first_match(DOCS, p)

    return [m.upper() for m in matches()]


@op
def fetch_page(cursor: int) -> str:
    CALLS[f"page {cursor}"] += 1
    time.sleep(0.003)
    if cursor >= 3:
        raise StopIteration  # "no more pages"
    return f"page{cursor}"


class Pages:
    def __init__(self) -> None:
        self.cursor = 0

    def __iter__(self) -> Pages:
        return self

    def __next__(self) -> str:
        page = fetch_page(self.cursor)
        self.cursor += 1
        return page


def crawl(_: object) -> tuple[object, ...]:
    pages = [p for p in Pages()]
    more = list(Pages())
    last = None
    for last in Pages():
        pass
    return pages, more, last, next(Pages()), next(iter(Pages()), "none")


@op
def row(i: int) -> str:
    CALLS[f"row {i}"] += 1
    time.sleep(0.003)
    return ["r0", "r1", "r2"][i]  # IndexError past the end


class Table:  # the old sequence protocol: iterated through __getitem__
    def __getitem__(self, i: int) -> str:
        return row(i)


def all_rows(_: object) -> tuple[object, ...]:
    return [r for r in Table()], list(Table()), "r1" in Table(), Table()[2]


def one_row_too_far(_: object) -> str:
    return Table()[3]


@op
def lookup(key: str) -> str:
    CALLS[key] += 1
    time.sleep(0.003)
    table = {"a": "Alpha", "b": "Beta"}
    if key not in table:
        raise AttributeError(f"no field {key}")
    return table[key]


@op
def fetch(key: str) -> dict[str, str]:
    CALLS[key] += 1
    time.sleep(0.003)
    return {"title": key.upper()}


class Record:
    def __init__(self, key: str) -> None:
        self.key = key
        self.raw = fetch(key)

    @property
    def title(self) -> str:
        return lookup(self.key)  # AttributeError: Python falls back to __getattr__

    @property
    def heading(self) -> str:
        return self.raw.heading  # type: ignore[attr-defined,no-any-return]  # a dict has none

    def __getattr__(self, name: str) -> str:
        return f"<fallback {name}>"


class Plain:
    def __init__(self, key: str) -> None:
        self.key = key

    @property
    def title(self) -> str:
        return lookup(self.key)


def attributes(key: str) -> tuple[object, ...]:
    record, plain = Record(key), Plain(key)
    return (record.title, record.heading, hasattr(plain, "title"),
            getattr(plain, "title", "default"), getattr(record, "title", "default"))


def plain_attribute(key: str) -> str:
    return Plain(key).title


PROGRAMS = [(via_genexp, (["b", "c"], ["b", "z", "a"])),
            (via_generator, (["b", "c"], ["z"])),
            (crawl, (None,)),
            (all_rows, (None,)),
            (one_row_too_far, (None,)),
            (attributes, ("a", "z")),
            (plain_attribute, ("a", "z"))]


def _outcome(program, argument) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    try:
        return ("value", program(argument))
    except Exception as error:  # the type, message and cause plain Python gives
        return ("raised", type(error), str(error), type(error.__cause__))


@pytest.mark.parametrize(("program", "inputs"), PROGRAMS, ids=[p.__name__ for p, _ in PROGRAMS])
def test_exceptions_python_acts_on_are_met_where_plain_python_meets_them(program, inputs) -> None:
    jitted = jit(program)
    for argument in inputs:
        for _ in range(2):
            CALLS.clear()
            plain = _outcome(program, argument)
            plain_calls = dict(CALLS)
            CALLS.clear()
            assert _outcome(jitted, argument) == plain, argument
            if plain[0] == "value":  # (after a failure, ops already started may finish)
                assert dict(CALLS) == plain_calls, argument


def test_a_stop_iteration_ending_a_map_that_ran_ahead_is_a_clear_error() -> None:
    def via_map(prefixes: list[str]) -> list[str]:
        return list(map(lambda p: first_match(DOCS, p), prefixes))

    def via_map_in_try(prefixes: list[str]) -> list[str]:
        try:  # the ops run at their call: map meets the StopIteration
            return list(map(lambda p: first_match(DOCS, p), prefixes))
        finally:
            pass

    assert via_map(["b", "z", "a"]) == ["banana split"]
    with pytest.raises(TracingError, match="first_match raised StopIteration") as raised:
        jit(via_map)(["b", "z", "a"])
    assert type(raised.value.__cause__) is StopIteration
    assert jit(via_map)(["b", "a"]) == ["banana split", "apple pie"]
    assert jit(via_map_in_try)(["b", "z", "a"]) == ["banana split"]


@op
def slow(key: str) -> str:
    time.sleep(0.05)
    return key.upper()


class Report:
    def __init__(self, key: str) -> None:
        self.key = key

    @property
    def summary(self) -> str:
        return slow(self.key)

    def __getitem__(self, i: int) -> str:
        return slow(f"{self.key}{i}")


def test_ops_in_properties_items_and_map_still_overlap() -> None:
    @jit
    def overview(keys: list[str]) -> list[object]:
        reports = [Report(k) for k in keys]
        return [[r.summary for r in reports], [r[0] for r in reports], list(map(slow, keys))]

    keys = list("abcd")
    started = time.perf_counter()
    assert overview(keys) == [list("ABCD"), ["A0", "B0", "C0", "D0"], list("ABCD")]
    assert time.perf_counter() - started < 0.4  # twelve 50 ms ops, in three overlapping groups
    assert get_jit_stats(overview)["barriers"] == []


def test_explain_says_why_ops_ran_at_their_call() -> None:
    fast_crawl, fast_attributes = jit(crawl), jit(attributes)
    fast_crawl(None)
    fast_attributes("z")
    assert "eager op (special method) at" in fast_crawl.explain()
    assert "Python acts at once on what this special method" in fast_crawl.explain()
    text = fast_attributes.explain()
    assert "eager op (attribute probe) at" in text and "would be caught here" in text


KEPT: dict[str, object] = {}


class Kept:
    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def words(self) -> object:
        return KEPT[self.text]  # an op result kept outside the object


def kept_elsewhere(text: str) -> object:
    KEPT[text] = parse(text)["words"]
    match Kept(text):
        case Kept(words=["search", *query]):
            return query
        case _:
            return "no match"


def test_a_pattern_on_an_op_result_kept_outside_the_subject_matches_its_value() -> None:
    jitted = jit(kept_elsewhere)
    for text in ["search cats", "search", "hello"]:
        assert jitted(text) == kept_elsewhere(text), text
