"""User code that library calls run for the glue runs where plain Python runs it.

A call whose arguments hold op results may be lifted: it runs once they exist. That is
only right when it runs no code of the user's. These library calls do, through what
they are handed or what they build: a ``cmp_to_key`` comparison, a cached key function,
a property read by ``attrgetter``, a pydantic validator or ``default_factory``, a
dataclass's ``__post_init__`` run by ``dataclasses.replace``. Each program reads a
global the glue changes right after the call, so a late run shows.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
import time

import pytest
from pydantic import BaseModel, Field, field_validator

from ember.xcs import jit, op

STYLE = {"upper": False}


@op
def fetch(key: str) -> str:
    time.sleep(0.003)
    return f"reply {key}"


def _compare(a: str, b: str) -> int:
    flip = -1 if STYLE["upper"] else 1
    return flip * ((a > b) - (a < b))


@functools.cache
def _cached_key(text: str) -> int:
    return -len(text) if STYLE["upper"] else len(text)


class Candidate:
    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def score(self) -> int:
        return -len(self.text) if STYLE["upper"] else len(self.text)


def rank_with_cmp(keys: list[str]) -> list[str]:
    STYLE["upper"] = False
    ranked = sorted([fetch(k) for k in keys], key=functools.cmp_to_key(_compare))
    STYLE["upper"] = True
    return ranked


def rank_with_cached_key(keys: list[str]) -> list[str]:
    STYLE["upper"] = False
    _cached_key.cache_clear()
    ranked = sorted([fetch(k) for k in keys], key=_cached_key)
    STYLE["upper"] = True
    return ranked


def rank_with_attrgetter(keys: list[str]) -> list[str]:
    STYLE["upper"] = False
    ranked = sorted([Candidate(fetch(k)) for k in keys], key=operator.attrgetter("score"))
    STYLE["upper"] = True
    return [c.text for c in ranked]


_ids = itertools.count()


class Note(BaseModel):
    text: str
    serial: int = Field(default_factory=lambda: next(_ids))
    shout: bool = False

    @field_validator("text")
    @classmethod
    def _styled(cls, text: str) -> str:
        return text.upper() if STYLE["upper"] else text


def build_notes(keys: list[str]) -> list[tuple[str, int]]:
    notes = []
    for key in keys:
        STYLE["upper"] = key.endswith("!")
        notes.append(Note(text=fetch(key)))
    STYLE["upper"] = True
    return [(note.text, note.serial) for note in notes]


@dataclasses.dataclass
class Record:
    key: str
    summary: str = ""
    version: int = 0

    def __post_init__(self) -> None:
        self.version = next(_ids)


def revise(keys: list[str]) -> list[tuple[str, str, int]]:
    records = [Record(k) for k in keys]
    revised = [dataclasses.replace(r, summary=fetch(r.key)) for r in records]
    return [(r.key, r.summary, r.version - revised[0].version) for r in revised]


PROGRAMS = [rank_with_cmp, rank_with_cached_key, rank_with_attrgetter, build_notes, revise]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_user_code_run_by_library_calls_runs_at_the_call(program) -> None:
    global _ids
    inputs = [["b", "ccc", "a!"], ["dd", "e", "f!"]]
    jitted = jit(program)
    for keys in inputs:
        _ids = itertools.count()
        plain = program(keys)
        _ids = itertools.count()
        assert jitted(keys) == plain


class Plain(BaseModel):
    text: str
    tags: list[str] = Field(default_factory=list)


def test_a_pydantic_model_without_code_of_its_own_still_waits_for_nothing() -> None:
    @jit
    def build(keys: list[str]) -> list[Plain]:
        return [Plain(text=fetch(k)) for k in keys]

    @op
    def slow(key: str) -> str:
        time.sleep(0.05)
        return key

    @jit
    def overlapping(keys: list[str]) -> list[str]:
        return [Plain(text=slow(k)).text for k in keys]

    assert [p.text for p in build(["a", "b"])] == ["reply a", "reply b"]
    started = time.perf_counter()
    assert overlapping(list("abcdef")) == list("abcdef")
    assert time.perf_counter() - started < 0.2  # six 50 ms ops overlapped (0.3 s in turn)
