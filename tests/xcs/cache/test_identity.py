"""Op identity: the code fingerprint sees every edit and is the same in every process;
values the callable binds (defaults, partial arguments, a keyed self) are read at each
call."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest

import ember
from ember.xcs import Config, jit, op
from ember.xcs.cache import MemoryStore, use
from ember.xcs.cache.identity import BoundValues, code_fingerprint, op_identity
from ember.xcs.cache.keys import UncacheableError

_SRC = str(Path(ember.__file__).resolve().parents[1])

def _summarise(text: str) -> str:
    return text[:3]


def test_identity_of_functions_and_pinned_versions() -> None:
    identity, version = op_identity(_summarise, None)
    assert identity == f"{__name__}:_summarise"
    assert version.startswith("code:")
    assert op_identity(_summarise, "v2") == (identity, "v2")


def test_code_fingerprint_follows_the_body() -> None:
    def first(x):
        return x + 1

    def same(x):
        return x + 1

    def changed(x):
        return x + 2

    assert code_fingerprint(first) == code_fingerprint(same)
    assert code_fingerprint(first) != code_fingerprint(changed)


def _full_name(first, last):  # type: ignore[no-untyped-def]
    return f"{first} {last}"


def _full_name_swapped(last, first):  # type: ignore[no-untyped-def]
    return f"{last} {first}"


def _tags(*items):  # type: ignore[no-untyped-def]
    return items


def _tags_positional(items):  # type: ignore[no-untyped-def]
    return items


def _labels():  # type: ignore[no-untyped-def]
    suffix_en, suffix_fr = " (en)", " (fr)"

    def label_en(text):  # type: ignore[no-untyped-def]
        return text + suffix_en

    def label_fr(text):  # type: ignore[no-untyped-def]
        return text + suffix_fr

    return label_en, label_fr


def _outer_en():  # type: ignore[no-untyped-def]
    def inner(first, last):  # type: ignore[no-untyped-def]
        return first

    return inner


def _outer_fr():  # type: ignore[no-untyped-def]
    def inner(last, first):  # type: ignore[no-untyped-def]
        return last

    return inner


@pytest.mark.parametrize(
    ("before", "after"),
    [(_full_name, _full_name_swapped), (_tags, _tags_positional), _labels(),
     (_outer_en, _outer_fr)],
    ids=["parameter names", "*args", "closure variable read", "nested function"],
)
def test_code_fingerprint_sees_names_and_the_argument_layout(before, after) -> None:  # type: ignore[no-untyped-def]
    """Edits that leave the bytecode as it was (locals and cells are read by position)
    but change what plain Python computes."""
    assert before.__code__.co_code == after.__code__.co_code
    assert code_fingerprint(before) != code_fingerprint(after)


def test_an_edited_parameter_order_is_a_miss_not_a_stale_hit() -> None:
    store = MemoryStore()
    results = []
    for body in (_full_name, _full_name_swapped):
        body.__qualname__ = "full_name"  # the same op, edited between two runs
        cached = op(body, cache=True)
        results.append(jit(lambda: cached(first="Ada", last="Lovelace"),
                           config=Config(result_cache=store))())
    assert results == ["Ada Lovelace", "Lovelace Ada"]


def test_code_fingerprint_is_stable_across_processes() -> None:
    script = (
        "from ember.xcs.cache.identity import code_fingerprint\n"
        "from ember.xcs.cache.keys import result_key\n"
        "def f(x):\n    return {'a': x, 'b': [1, 2]}\n"
        "def g(word):\n    return word in {'hello', 'hi', 'hey', 'howdy', 'greetings', 'salut',"
        " 'yo', 'hiya', 'ahoy', 'hallo'}\n"
        "print(code_fingerprint(g))\n"
        "print(code_fingerprint(f), result_key('m:f', 'v', ({'b': 1, 'a': 2}, {3, 1}), {}))\n"
    )
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed, "PYTHONPATH": _SRC}).stdout
            for seed in ("1", "2", "3", "4")}
    assert len(runs) == 1


def test_callable_objects_need_a_declared_identity_or_a_version() -> None:
    class Chain:
        def __call__(self, text):
            return text

    with pytest.raises(UncacheableError, match="Pin what it is with version="):
        op_identity(Chain(), None)
    assert op_identity(Chain(), "prompt-v1") == (
        f"{__name__}:test_callable_objects_need_a_declared_identity_or_a_version.<locals>.Chain",
        "prompt-v1",
    )

    class Model:
        __xcs_cache_identity__ = "model:openai/gpt-4o"

        def __call__(self, text):
            return text

    assert op_identity(Model(), None) == ("model:openai/gpt-4o", "declared")


def test_partials_include_their_bound_arguments() -> None:
    identity, version = op_identity(functools.partial(_summarise, "x"), "1")
    assert identity == f"{__name__}:_summarise[partial]"
    a = BoundValues(functools.partial(_summarise, "x"), version, pinned=True).version()
    b = BoundValues(functools.partial(_summarise, "y"), version, pinned=True).version()
    assert a != b


LABELS = ["spam", "ham"]


def _classify(text, labels=LABELS):  # type: ignore[no-untyped-def]
    return f"{text} -> one of {labels}"


def _classify_keyword(text, *, labels=("spam",)):  # type: ignore[no-untyped-def]
    return f"{text} -> one of {labels}"


def test_default_values_are_keyed_at_each_call() -> None:
    """A mutable default that changes, defaults reassigned, keyword-only defaults
    changed in place: each is a miss, as plain Python computes something else."""
    for version in (None, "pinned"):
        for body in (_classify, _classify_keyword):
            cached = op(body, cache=True, version=version)
            seen = []
            with use(MemoryStore()):
                seen.append(cached("hi"))
                if body is _classify:
                    LABELS.append("eggs")
                    seen.append(cached("hi"))
                    body.__defaults__ = (["other"],)
                else:
                    body.__kwdefaults__["labels"] = ("spam", "ham")  # type: ignore[index]
                    seen.append(cached("hi"))
                    body.__kwdefaults__ = {"labels": ("other",)}
                seen.append(cached("hi"))
                seen.append(cached("hi"))  # unchanged since: a hit of the same value
            assert seen[1:] != seen[:-1][:2] and seen[-1] == seen[-2] == body("hi")
            assert len(set(seen)) == 3
            body.__defaults__, body.__kwdefaults__ = (
                ((LABELS,), None) if body is _classify else (None, {"labels": ("spam",)}))
            del LABELS[2:]


class _Client:
    pass


def _with_client(text, client=_Client()):  # type: ignore[no-untyped-def]
    return text


def test_a_default_without_a_canonical_form_needs_a_version() -> None:
    with pytest.raises(UncacheableError, match="default values") as caught:
        op(_with_client, cache=True)
    assert "version=" in str(caught.value)
    with use(MemoryStore()):
        assert op(_with_client, cache=True, version="1")("hi") == "hi"


class _Chain:
    def __init__(self, prompt: str) -> None:
        self.prompt = prompt

    def __xcs_cache_key__(self) -> str:
        return self.prompt

    def invoke(self, text: str) -> str:
        return f"{self.prompt}: {text}"


def test_a_keyed_self_and_partial_arguments_are_read_at_each_call() -> None:
    chain = _Chain("summarise")
    words = ["a"]
    bound = op(chain.invoke, cache=True)
    partial = op(functools.partial(_classify, labels=words), cache=True)
    with use(MemoryStore()):
        assert bound("x") == "summarise: x"
        chain.prompt = "translate"
        assert bound("x") == "translate: x"
        assert partial("x") == "x -> one of ['a']"
        words.append("b")
        assert partial("x") == "x -> one of ['a', 'b']"


