"""``usage`` is read as ``inspect.getattr_static`` reads it, on every kind of object."""

from __future__ import annotations

import inspect
import types
from typing import Any

import pytest

from ember.xcs.tracing.usage import _MISSING, _static_usage, count_usage


class _Property:
    @property
    def usage(self) -> int:
        raise AssertionError("a property of the user's is never run")


class _Slotted:
    __slots__ = ("usage",)


class _SlottedChild(_Slotted):
    pass


class _Plain:
    pass


class _ClassAttribute:
    usage = {"total_tokens": 5}


class _DataDescriptor:
    def __get__(self, obj: Any, cls: Any = None) -> int:
        return 1

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError("read-only")


class _Shadowed:
    usage = _DataDescriptor()


class _Meta(type):
    usage = "on the metaclass"


class _WithMeta(metaclass=_Meta):
    pass


def _objects() -> list[Any]:
    filled = _SlottedChild()
    filled.usage = 9
    plain = _Plain()
    plain.usage = {"total_tokens": 3}  # type: ignore[attr-defined]
    own = _ClassAttribute()
    own.__dict__["usage"] = {"total_tokens": 7}
    shadowed = _Shadowed()
    shadowed.__dict__["usage"] = "hidden by the descriptor"
    return [_Property(), _Slotted(), filled, plain, _Plain(), _ClassAttribute(), own,
            shadowed, _WithMeta(), _WithMeta, _Property, type, 1, "text", {}, [],
            types.SimpleNamespace(usage=2)]


@pytest.mark.parametrize("value", _objects(), ids=lambda v: type(v).__name__)
def test_the_fast_lookup_agrees_with_getattr_static(value: Any) -> None:
    try:
        expected = inspect.getattr_static(value, "usage")
    except AttributeError:
        expected = _MISSING
    assert _static_usage(value) is expected


def test_an_instance_dict_entry_is_counted_and_a_class_one_when_there_is_none() -> None:
    tokens: dict[str, int] = {}
    own = _ClassAttribute()
    own.__dict__["usage"] = {"total_tokens": 7}
    count_usage([own, _ClassAttribute()], tokens, {})
    assert tokens == {"total_tokens": 12}


class _NeverRead(dict):  # type: ignore[type-arg]
    def values(self) -> Any:
        raise AssertionError("a dict class's own methods are never run")

    get = values


def test_the_usage_a_dict_subclass_holds_is_counted_as_a_dicts() -> None:
    """A NON operator's result is a ``NonResult`` (a dict subclass): an op returning one
    counted no tokens, where the same dict counted its responses' usage."""
    from ember.api import non
    from ember.xcs import get_jit_stats, jit, op

    ensemble = non.UniformEnsemble(num_units=2, model_name="simulated/a")

    @op
    def ask(question: str) -> Any:
        return ensemble(question)

    def asked(question: str) -> Any:
        return ask(question)

    traced = jit(asked)
    result = traced("hi")
    assert type(result) is non.NonResult
    paid = sum(reply.usage.total_tokens for reply in result["responses"])
    assert paid > 0 and get_jit_stats(traced)["tokens"]["total_tokens"] == paid

    tokens: dict[str, int] = {}
    count_usage(_NeverRead(usage={"total_tokens": 3}, reply={"usage": {"total_tokens": 4}}),
                tokens, {})
    assert tokens == {"total_tokens": 7}


class _ReplyDict(dict):  # type: ignore[type-arg]
    pass


def test_a_dict_subclass_s_own_usage_attribute_is_still_counted() -> None:
    reply = _ReplyDict(text="hi")
    reply.usage = {"total_tokens": 2}  # type: ignore[attr-defined]
    tokens: dict[str, int] = {}
    count_usage([reply], tokens, {})
    assert tokens == {"total_tokens": 2}
