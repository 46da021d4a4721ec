"""Callee classification: cache keys that keep apart what is classified apart."""

from __future__ import annotations

import datetime
import time
from typing import Any

from ember.xcs import jit, op, pure
from ember.xcs.tracing.callees import Callee, classify


def _callable_class() -> type:
    """A fresh user class (a new cache key) with a Python ``__init__`` and ``__call__``."""

    class Step:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        def __call__(self, text: str) -> str:
            return self.prefix + text

    return Step


def test_class_then_instance() -> None:
    step = _callable_class()
    assert classify(step) is Callee.USER_CLASS
    assert classify(step("p")) is Callee.USER
    assert classify(step) is Callee.USER_CLASS


def test_instance_then_class() -> None:
    step = _callable_class()
    assert classify(step("p")) is Callee.USER
    assert classify(step) is Callee.USER_CLASS
    assert classify(step("q")) is Callee.USER


def test_c_classmethods_are_keyed_by_their_class() -> None:
    # Both are ``fromisoformat`` bound to a class; only ``datetime``'s is listed pure.
    assert classify(datetime.time.fromisoformat) is Callee.UNKNOWN
    assert classify(datetime.datetime.fromisoformat) is Callee.PURE
    assert classify(datetime.time.fromisoformat) is Callee.UNKNOWN


def test_c_method_of_an_instance_and_of_a_class() -> None:
    assert classify("".join) is Callee.CONSUMER
    assert classify(dict.fromkeys) is Callee.UNKNOWN
    assert classify({}.get) is Callee.TRANSPARENT


def _without_source() -> dict[str, Any]:
    """A user function, class and callable class compiled from a string (no source)."""
    namespace: dict[str, Any] = {}
    exec(compile(  # noqa: S102 - the point: code that has no source file
        "def helper(v):\n"
        "    return v is None\n"
        "class Box:\n"
        "    def __init__(self, v):\n"
        "        self.empty = v is None\n"
        "class Check:\n"
        "    def __call__(self, v):\n"
        "        return v is None\n",
        "<string>", "exec"), namespace)
    return namespace


def test_user_code_without_source_is_called_with_real_values() -> None:
    namespace = _without_source()
    assert classify(namespace["helper"]) is Callee.UNKNOWN
    assert classify(namespace["Box"]) is Callee.UNKNOWN
    assert classify(namespace["Check"]()) is Callee.UNKNOWN


def test_user_code_with_source_is_rewritten() -> None:
    def helper(v: object) -> bool:
        return v is None

    assert classify(helper) is Callee.USER


def _formatter(tag: str) -> Any:
    def fmt(text: str) -> str:
        return f"[{tag}] {text}"

    return fmt


def test_pure_marks_one_closure_not_every_one_sharing_its_code() -> None:
    marked, plain = pure(_formatter("q")), _formatter("l")
    for first, second in ((marked, plain), (plain, marked)):  # either classified first
        classify(first)
        assert classify(marked) is Callee.PURE
        assert classify(plain) is Callee.USER


def test_a_closure_marked_pure_runs_lifted_and_its_sibling_in_program_order() -> None:
    seen: list[tuple[str, str]] = []
    stage = ["a"]

    @op
    def shout(text: str) -> str:
        time.sleep(0.01)
        return text.upper()

    def make(tag: str, verbose: bool) -> Any:
        def fmt(text: str) -> str:
            if verbose:
                seen.append((tag, stage[0]))
            return f"[{tag}] {text}"

        return fmt

    quiet, loud = pure(make("q", False)), make("l", True)

    @jit
    def glue(q: str) -> tuple[str, str]:
        stage[0] = "a"
        pair = quiet(shout(q)), loud(shout(q))
        stage[0] = "b"
        return pair

    assert glue("x") == ("[q] X", "[l] X")
    assert seen == [("l", "a")]  # loud ran at its call, as in plain Python
