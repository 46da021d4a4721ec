"""Cache keys: canonical, order-independent, sensitive to every part; clear refusals."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import pathlib
import uuid
from typing import NamedTuple

import pytest

from ember.models.response import Response, Usage
from ember.xcs import XCSError
from ember.xcs.cache.keys import UncacheableError, encode, result_key


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


def test_dicts_and_sets_are_keyed_in_their_iteration_order() -> None:
    assert encode({"a": 1, "b": [1, 2]}) == encode({"a": 1, "b": [1, 2]})
    assert encode({"a": 1, "b": [1, 2]}) != encode({"b": [1, 2], "a": 1})
    assert encode(collections.Counter("abca")) != encode(collections.Counter("caab"))
    assert list({1, 9}) != list({9, 1})  # equal sets that iterate differently
    assert encode({1, 9}) != encode({9, 1})
    assert encode(frozenset({1, 9})) == encode(frozenset({1, 9}))


def test_a_cached_op_never_answers_for_a_dict_in_another_order() -> None:
    from ember.xcs import Config, jit, op
    from ember.xcs.cache import MemoryStore

    def render(fields: dict[str, str]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in fields.items())

    cached = op(render, cache=True)
    both = jit(lambda a, b: [cached(a), cached(b)], config=Config(result_cache=MemoryStore()))
    first, second = {"name": "Ada", "role": "admin"}, {"role": "admin", "name": "Ada"}
    assert both(first, second) == [render(first), render(second)]


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


def _reply(model_id: str, text: str = "the answer") -> Response:
    return Response(text, model_id=model_id, provider=model_id.split("/")[0],
                    usage=Usage.of(1, 2), simulated=True, created=1.5)


def test_str_subclasses_are_keyed_by_type_text_and_attributes() -> None:
    assert encode(_reply("simulated/a")) == encode(_reply("simulated/a"))
    assert encode(_reply("simulated/a")) != encode(_reply("simulated/b"))
    assert encode(_reply("simulated/a")) != encode("the answer")

    class Markup(str):
        __slots__ = ()

    assert encode(Markup("<b>")) != encode("<b>")

    class Tagged(str):
        __slots__ = ("tag",)

    with pytest.raises(UncacheableError, match="__slots__"):
        encode(Tagged("x"))


def test_a_cached_op_tells_apart_the_same_reply_of_two_models() -> None:
    from ember.xcs import Config, jit, op
    from ember.xcs.cache import MemoryStore

    def cite(reply: Response) -> str:
        return f"{reply.model_id} said {reply}"

    cached = op(cite, cache=True)
    both = jit(lambda a, b: [cached(a), cached(b)], config=Config(result_cache=MemoryStore()))
    alpha, beta = _reply("simulated/alpha"), _reply("simulated/beta")
    assert both(alpha, beta) == [cite(alpha), cite(beta)]


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
    assert encode(collections.Counter("abca")) == encode(collections.Counter("abca"))
    assert encode(collections.defaultdict(list, a=[1], b=[2])) == encode(
        collections.defaultdict(list, a=[1], b=[2]))
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


def _cached_pairs(body: object, pairs: list[tuple[object, object]]) -> list[object]:
    """``body`` as a cached op, called on both values of each pair under one jit."""
    from ember.xcs import Config, jit, op
    from ember.xcs.cache import MemoryStore

    cached = op(body, cache=True)
    results = []
    for first, second in pairs:
        both = jit(lambda a, b: [cached(a), cached(b)], config=Config(result_cache=MemoryStore()))
        results.append(both(first, second))
    return results


def test_numpy_values_are_keyed_by_type_dtype_fields_and_mask() -> None:
    np = pytest.importorskip("numpy")
    masked = [np.ma.array([1, 2, 3, 4], mask=[0, 0, 0, 1], fill_value=4),
              np.ma.array([1, 2, 3, 4], mask=[0, 1, 0, 0], fill_value=2)]
    pairs = [
        (np.array([[1, 2], [3, 4]]), np.matrix([[1, 2], [3, 4]])),
        (masked[0], masked[1]),
        (np.zeros(1, dtype=[("a", "i4")]), np.zeros(1, dtype=[("b", "i4")])),
        (np.float64(1.5), np.array(1.5)),
        (np.str_("ab"), "ab"),
        (np.bytes_(b"ab"), b"ab"),
    ]
    for first, second in pairs:
        assert encode(first) != encode(second)

    def describe(value: object) -> str:
        return repr((type(value).__name__, str(value), getattr(value, "dtype", None)))

    assert _cached_pairs(describe, pairs) == [[describe(a), describe(b)] for a, b in pairs]
    assert encode(masked[0]) == encode(np.ma.array([1, 2, 3, 4], mask=[0, 0, 0, 1],
                                                   fill_value=4))
    with pytest.raises(UncacheableError, match="cannot be part of a result-cache key"):
        encode(np.arange(3).view(type("Sub", (np.ndarray,), {})))


def test_pydantic_models_are_keyed_by_their_python_field_values() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Account(pydantic.BaseModel):
        name: str
        token: str = pydantic.Field(exclude=True)

    class Cell(pydantic.BaseModel):
        value: object = None

    pairs = [
        (Account(name="ada", token="t-1"), Account(name="ada", token="t-2")),
        (Cell(value=(1, 2)), Cell(value=[1, 2])),
        (Cell(value=b"ab"), Cell(value="ab")),
        (Cell(value=float("nan")), Cell(value=None)),
        (Cell(value=datetime.date(2020, 1, 11)), Cell(value="2020-01-11")),
        (Cell(), Cell(value=None)),  # which fields were set: model_dump(exclude_unset=True)
    ]
    for first, second in pairs:
        assert encode(first) != encode(second)
    assert encode(Cell(value=[1])) == encode(Cell(value=[1]))

    def show(model: pydantic.BaseModel) -> str:
        return repr((model.__dict__, model.model_dump(exclude_unset=True)))

    assert _cached_pairs(show, pairs) == [[show(a), show(b)] for a, b in pairs]


def test_pydantic_urls_and_secrets_are_keyed_by_their_values() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Endpoint(pydantic.BaseModel):
        url: pydantic.HttpUrl
        key: pydantic.SecretStr

    assert encode(Endpoint(url="http://a.example/", key="k1")) != encode(
        Endpoint(url="http://b.example/", key="k1"))
    assert encode(Endpoint(url="http://a.example/", key="k1")) != encode(
        Endpoint(url="http://a.example/", key="k2"))


def test_dates_and_times_are_keyed_with_their_time_zone_and_fold() -> None:
    from zoneinfo import ZoneInfo

    paris = datetime.datetime(2024, 1, 10, 9, tzinfo=ZoneInfo("Europe/Paris"))
    fixed = datetime.datetime(2024, 1, 10, 9, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1)))
    naive = datetime.datetime(2024, 10, 27, 2, 30)
    pairs = [(paris, fixed), (naive, naive.replace(fold=1)),
             (paris.timetz(), fixed.timetz()), (naive.time(), naive.replace(fold=1).time())]
    assert paris == fixed and naive == naive.replace(fold=1)
    for first, second in pairs:
        assert encode(first) != encode(second)

    def later(start: datetime.datetime | datetime.time) -> str:
        return repr((start.tzname(), start.fold))

    assert _cached_pairs(later, pairs) == [[later(a), later(b)] for a, b in pairs]

    class Zone(datetime.tzinfo):
        def utcoffset(self, dt: object) -> datetime.timedelta:
            return datetime.timedelta(hours=2)

    with pytest.raises(UncacheableError, match="zoneinfo.ZoneInfo"):
        encode(datetime.datetime(2024, 1, 1, tzinfo=Zone()))


class Perm(enum.IntFlag):
    READ = 1
    WRITE = 2


def test_flag_values_without_a_name_are_keyed_by_value() -> None:
    assert Perm(0).name is None and Perm(8).name is None
    assert encode(Perm(0)) != encode(Perm(8))
    assert encode(Perm.READ | Perm.WRITE) == encode(Perm(3))
    assert _cached_pairs(lambda p: int(p), [(Perm(0), Perm(8))]) == [[0, 8]]
