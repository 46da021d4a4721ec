"""``jit`` on a class (``ember.xcs.api.classes``): the jitted subclass runs none of the
user's ``__init_subclass__`` hooks, and its instances pickle as plain ones do."""

from __future__ import annotations

import copy
import pickle
import time
from typing import Any, ClassVar

import pytest

from ember.api.operators import Operator
from ember.xcs import get_jit_stats, jit, op, structural_jit


@op
def slow_double(x: int) -> int:
    time.sleep(0.05)
    return 2 * x


class Registered(Operator):
    registry: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:  # a plugin registry
        super().__init_subclass__(**kwargs)
        if cls.__name__ in Registered.registry:
            raise TypeError(f"duplicate operator name {cls.__name__!r}")
        Registered.registry[cls.__name__] = cls


class Tagged(Operator):
    def __init_subclass__(cls, *, tag: str, **kwargs: Any) -> None:  # a class keyword
        super().__init_subclass__(**kwargs)
        cls.tag = tag


def test_the_jitted_class_runs_none_of_the_users_init_subclass_hooks() -> None:
    class Summarize(Registered):
        def forward(self, x: int) -> list[int]:
            return [slow_double(x), slow_double(x + 1)]

    class Fast(Tagged, tag="fast"):
        def forward(self, x: int) -> list[Any]:
            return [slow_double(x), self.tag]

    for decorate in (jit, structural_jit(execution_strategy="parallel")):
        jitted = decorate(Summarize)
        assert Registered.registry == {"Summarize": Summarize}
        assert jitted()(1) == [2, 4] and get_jit_stats(jitted)["calls"] == 1
        assert decorate(Fast)()(1) == [2, "fast"]

    class Later(jit(Summarize)):  # a class of the user's deriving from it: hooks run
        pass

    assert Registered.registry == {"Summarize": Summarize, "Later": Later}


class Panel(Operator):
    def __init__(self, n: int) -> None:
        self.n = n

    def forward(self, x: int) -> list[int]:
        return [slow_double(x + i) for i in range(self.n)]


FastPanel = jit(Panel)  # module.Panel stays the plain class


@jit
class Decorated(Operator):  # module.Decorated is the jitted class
    def forward(self, x: int) -> list[int]:
        return [slow_double(x)]


def test_instances_pickle_and_copy_as_plain_ones_do() -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(FastPanel(2), protocol=protocol))
        assert type(restored) is Panel and restored.n == 2 and restored(1) == [2, 4]
        again = pickle.loads(pickle.dumps(Decorated(), protocol=protocol))
        assert type(again) is Decorated and again(3) == [6]
    assert type(copy.deepcopy(FastPanel(1))) is Panel
    assert type(copy.copy(Decorated())) is Decorated
    assert type(pickle.loads(pickle.dumps(jit(FastPanel)(1)))) is Panel


def test_the_jitted_class_is_still_an_operator_class() -> None:
    numpy = pytest.importorskip("numpy")
    jax = pytest.importorskip("jax")

    class Scale(Operator):
        weight: Any

        def forward(self, x: Any) -> Any:
            return x * self.weight

    fast = jit(Scale)(weight=numpy.ones(2))
    assert len(jax.tree_util.tree_leaves(fast)) == 1  # registered as a pytree
    with pytest.raises(AttributeError):
        fast.weight = 3  # frozen after __init__
