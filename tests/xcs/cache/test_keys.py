"""Cache keys: canonical, order-independent, sensitive to every part; clear refusals."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import functools
import pathlib
import subprocess
import sys
import uuid
from typing import NamedTuple

import pytest

from ember.models.response import Response, Usage
from ember.xcs import XCSError
from ember.xcs.cache.keys import (
    UncacheableError,
    code_fingerprint,
    encode,
    op_identity,
    result_key,
)


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass
class Doc:
    title: str
    tags: list[str]


class Pair(NamedTuple):
    a: int
    b: int


def test_dict_and_set_order_do_not_matter() -> None:
    assert encode({"a": 1, "b": [1, 2]}) == encode({"b": [1, 2], "a": 1})
    assert encode({3, 1, 2}) == encode({2, 3, 1})
    assert encode(frozenset({"x", "y"})) == encode(frozenset({"y", "x"}))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 1.0),
        (1, True),
        (0, None),
        ("1", 1),
        ([1, 2], (1, 2)),
        ([1, 2], [2, 1]),
        ({"a": 1}, {"a": 2}),
        (b"x", "x"),
        ({1, 2}, [1, 2]),
        (Colour.RED, Colour.BLUE),
        (Doc("t", ["a"]), Doc("t", ["b"])),
        (Pair(1, 2), (1, 2)),
        (["ab", "c"], ["a", "bc"]),  # lengths are part of the encoding
        (float("nan"), 0.0),
        (0.1 + 0.2, 0.3),
    ],
)
def test_different_values_have_different_encodings(left: object, right: object) -> None:
    assert encode(left) != encode(right)


def test_equal_values_of_many_kinds_encode_equally() -> None:
    def build() -> object:
        return [
            None, True, 3, 2.5, 1 + 2j, "text", b"bytes", bytearray(b"ba"), range(3),
            decimal.Decimal("1.10"), uuid.UUID(int=5), datetime.datetime(2026, 1, 2, 3, 4),
            datetime.date(2026, 1, 2), datetime.timedelta(seconds=3),
            pathlib.PurePosixPath("/a/b"), Colour.RED, Doc("t", ["x"]), Pair(1, 2),
            {"nested": [{"k": (1, 2)}]},
        ]

    assert encode(build()) == encode(build())


def test_str_subclasses_count_by_their_text() -> None:
    reply = Response("the answer", model_id="simulated/a", provider="simulated",
                     usage=Usage.of(1, 2), simulated=True)
    assert encode(reply) == encode("the answer")


def test_objects_with_a_cache_key_method() -> None:
    class Prompt:
        def __init__(self, text: str) -> None:
            self.text = text

        def __xcs_cache_key__(self) -> str:
            return self.text

    assert encode(Prompt("a")) == encode(Prompt("a"))
    assert encode(Prompt("a")) != encode(Prompt("b"))
    assert encode(Prompt("a")) != encode("a")  # the type is part of it


def test_numpy_arrays() -> None:
    np = pytest.importorskip("numpy")
    assert encode(np.arange(4)) == encode(np.arange(4))
    assert encode(np.arange(4)) != encode(np.arange(4).reshape(2, 2))
    assert encode(np.arange(4, dtype="int32")) != encode(np.arange(4, dtype="int64"))
    assert encode(np.float64(1.5)) == encode(np.float64(1.5))
    assert encode(np.float64(1.5)) != encode(1.5)  # a float subclass, but not a float


def test_objects_without_a_canonical_form_are_refused() -> None:
    class Client:
        pass

    with pytest.raises(UncacheableError) as caught:
        encode({"client": Client()})
    message = str(caught.value)
    assert "Client cannot be part of a result-cache key" in message
    assert "__xcs_cache_key__" in message and "cache=False" in message
    assert isinstance(caught.value, XCSError) and isinstance(caught.value, TypeError)


def test_self_reference_is_refused_not_a_recursion_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(UncacheableError, match="nested more than"):
        encode(loop)


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

    def defaults(x, y=1):
        return x + y

    def other_default(x, y=2):
        return x + y

    assert code_fingerprint(first) == code_fingerprint(same)
    assert code_fingerprint(first) != code_fingerprint(changed)
    assert code_fingerprint(defaults) != code_fingerprint(other_default)


def test_code_fingerprint_is_stable_across_processes() -> None:
    script = (
        "from ember.xcs.cache.keys import code_fingerprint, result_key\n"
        "def f(x):\n    return {'a': x, 'b': [1, 2]}\n"
        "print(code_fingerprint(f), result_key('m:f', 'v', ({'b': 1, 'a': 2}, {3, 1}), {}))\n"
    )
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3")}
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
    a = op_identity(functools.partial(_summarise, "x"), "1")
    b = op_identity(functools.partial(_summarise, "y"), "1")
    assert a != b and a[0].startswith(f"{__name__}:_summarise[partial ")


def test_result_key_parts() -> None:
    base = result_key("m:f", "1", ("q",), {"temperature": 0})
    assert base == result_key("m:f", "1", ("q",), {"temperature": 0})
    assert base != result_key("m:g", "1", ("q",), {"temperature": 0})
    assert base != result_key("m:f", "2", ("q",), {"temperature": 0})
    assert base != result_key("m:f", "1", ("q",), {"temperature": 0.7})
    assert base != result_key("m:f", "1", ("r",), {"temperature": 0})
    assert len(base) == 64


class Score(int):
    def describe(self) -> str:
        return f"score {int(self)}"


class Names(list[str]):
    pass


class Settings(dict[str, int]):
    pass


class Label(enum.StrEnum):
    TIDE = "tide"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({1}, frozenset({1})),
        (b"x", bytearray(b"x")),
        ({"a": 1}, collections.OrderedDict(a=1)),
        ({"a": 1}, collections.Counter(a=1)),
        ({"a": 1}, collections.defaultdict(None, a=1)),
        (collections.defaultdict(int, a=1), collections.defaultdict(list, a=1)),
        (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1)),
        (Label.TIDE, "tide"),
    ],
)
def test_equal_values_of_different_types_have_different_encodings(
    left: object, right: object
) -> None:
    assert left == right or isinstance(left, collections.OrderedDict)
    assert encode(left) != encode(right)


def test_standard_dict_subclasses_encode_canonically() -> None:
    assert encode(collections.Counter("abca")) == encode(collections.Counter("caab"))
    assert encode(collections.defaultdict(list, a=[1], b=[2])) == encode(
        collections.defaultdict(list, b=[2], a=[1]))
    assert encode(collections.OrderedDict(a=1, b=2)) == encode(collections.OrderedDict(a=1, b=2))


@pytest.mark.parametrize(
    ("value", "base"),
    [(Score(3), "int"), (Names(["a"]), "list"), (Settings(a=1), "dict")],
)
def test_subclasses_of_builtins_are_refused(value: object, base: str) -> None:
    with pytest.raises(UncacheableError, match=f"a subclass of {base}") as caught:
        encode([value])
    assert f"pass {base}(value)" in str(caught.value)


def test_defaultdict_with_a_function_factory_is_refused() -> None:
    with pytest.raises(UncacheableError, match="default_factory"):
        encode(collections.defaultdict(lambda: 0, a=1))


def test_a_cached_op_never_answers_for_an_argument_of_another_type() -> None:
    from ember.xcs import op
    from ember.xcs.cache import MemoryStore, use

    def kind(value: object) -> str:
        return type(value).__name__

    cached = op(kind, cache=True)
    pairs = [({1}, frozenset({1})), (b"x", bytearray(b"x")),
             ({"a": 1}, collections.OrderedDict(a=1)), ({"a": 1}, collections.Counter(a=1))]
    for first, second in pairs:
        with use(MemoryStore()):
            assert cached(first) == kind(first)
            assert cached(second) == kind(second)
