"""``type(name, bases, namespace)`` with op results in the namespace, from jitted glue.

``type`` is a shallow callee (it reads its arguments, not the items inside), but its
three-argument form copies the namespace into the new class: a key an op returned
stayed a lazy value in the class's ``__dict__`` after the call (3.13 also warned
"non-string key in the __dict__ of class K")."""

from __future__ import annotations

import enum
import time
import warnings
from typing import Any

import pytest

from ember.xcs import jit, op


@op
def field_name(k: int) -> str:
    time.sleep(0.001)
    return f"f{k}"


@op
def default(k: int) -> int:
    time.sleep(0.001)
    return k * 10


def make_record_class(x: int) -> type:
    return type("Record", (), {field_name(x): default(x), "kind": field_name(x + 1)})


def _shape(cls: Any) -> list[tuple[str, str, Any]]:
    return [(type(key).__name__, key, value) for key, value in vars(cls).items()
            if not key.startswith("__")]


def test_a_class_made_by_type_holds_the_op_results_values() -> None:
    fast = jit(make_record_class)
    for x in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            made = fast(x)
        assert _shape(made) == _shape(make_record_class(x))


def make_status_enum(x: int) -> Any:
    return enum.Enum("Status" + str(x), [field_name(x), field_name(x + 1)])


def test_an_enum_made_from_op_results_names_its_members_as_plain_python() -> None:
    fast = jit(make_status_enum)
    for x in (1, 2):
        plain = make_status_enum(x)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            made = fast(x)
        assert [str(w.message) for w in caught] == []
        assert [(type(m.name), m.name, m.value) for m in made] == [
            (type(m.name), m.name, m.value) for m in plain]
        assert [type(key) for key in vars(made)] == [type(key) for key in vars(plain)]


@op
def answer_type(name: str) -> type:
    time.sleep(0.001)
    return {"int": int, "str": str}[name]


def classes_an_op_chose(value: Any, name: str) -> list[bool]:
    kind = answer_type(name)
    return [isinstance(value, (kind, bytes)), isinstance(value, (bytes, (kind,))),
            issubclass(bool, (kind, bytes)), isinstance(value, kind), type(value) in (kind,)]


@pytest.mark.parametrize(("value", "name"), [(3, "int"), ("a", "str"), (3, "str")])
def test_isinstance_and_issubclass_ask_the_classes_an_op_returned_in_their_tuple(
        value: Any, name: str) -> None:
    """A tuple of classes holding an op's class: each is asked as in plain Python (the
    lazy value was taken for a class no value is an instance of: always False)."""
    fast = jit(classes_an_op_chose)
    expected = classes_an_op_chose(value, name)
    assert fast(value, name) == expected
    assert fast(value, name) == expected  # a later call too
