"""Whether jax.jit of a function keeps its plain meaning: effects found in its code."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ember.xcs.transforms.purity import purity

HISTORY: list = []
WEIGHTS = jnp.ones(3)
CONFIG = {"scale": 2.0}
RNG = np.random.default_rng(0)


class Counter:
    def __init__(self):
        self.count = 0

    def bump(self):
        self.count += 1


COUNTER = Counter()


class Optimizer(NamedTuple):  # as optax's GradientTransformation: functions in fields
    init: Callable
    update: Callable


SGD = Optimizer(init=lambda params: (), update=lambda grads, state: (-0.1 * grads, state))


def sgd_step(params, grads, state):
    updates, state = SGD.update(grads, state)  # `update` names no change of SGD
    return params + updates, state


@dataclass
class Output:
    value: object


def remember(x):
    HISTORY.append(x)
    return x


def pure_matmul(x):
    return jnp.tanh(x) @ WEIGHTS * CONFIG["scale"]


def via_helper(x):
    return remember(x) * 2


def via_jax_jit(x):
    return jax.jit(remember)(x)


def via_counter(x):
    COUNTER.bump()
    return x


def builds_dataclass(x):
    return Output(value=x)


def local_import(x):
    import numpy

    return x + numpy.random.normal()


def uses_generator(x):
    return x + RNG.normal()


def _nonlocal_counter():
    calls = 0

    def counted(x):
        nonlocal calls
        calls += 1
        return x

    return counted


@pytest.mark.parametrize(("fn", "found"), [
    (lambda x: print(x), "it calls print"),
    (lambda x: x + np.random.normal(), "np.random.normal (numpy.random)"),
    (lambda x: x + random.random(), "random.random (random)"),
    (lambda x: x * time.time(), "time.time (time)"),
    (lambda x: logging.info("x") or x, "logging.info (logging)"),
    (remember, "calls HISTORY.append()"),
    (via_helper, "reads HISTORY (a list)"),
    (via_jax_jit, "reads HISTORY (a list)"),
    (via_counter, "reads COUNTER (a Counter)"),
    (local_import, "numpy.random"),
    (uses_generator, "RNG"),
    (_nonlocal_counter(), "it assigns nonlocal variable calls"),
])
def test_effects_jax_jit_would_drop_are_found(fn, found):
    fallback = purity(fn).fallback
    assert fallback is not None and found in fallback.reason, fallback


@pytest.mark.parametrize("fn", [
    pure_matmul,
    builds_dataclass,
    sgd_step,
    lambda x: jax.debug.print("{}", x) or x,  # JAX runs it on every call
    lambda x: x.at[0].add(1.0),
    lambda x: jax.lax.fori_loop(0, 3, lambda i, c: c + i, x),
])
def test_pure_code_has_no_effect(fn):
    assert purity(fn).fallback is None


def test_changes_in_place_are_reported_for_the_per_call_argument_check():
    def bump(x):
        x += 1
        return x

    assert purity(bump) == purity(bump) and purity(bump).changes
    assert purity(bump).fallback is None  # fine for JAX arrays; not for a list argument
    assert not purity(pure_matmul).changes and not purity(sgd_step).changes


def test_the_effect_is_located():
    fallback = purity(remember).fallback
    assert fallback is not None and fallback.location is not None
    assert fallback.location.filename == __file__
    assert fallback.location.lineno == remember.__code__.co_firstlineno + 1


class _Toolbox:
    from ember.xcs import op as _op

    @_op
    def weight(self, key):
        return 2.0 if key == "a" else 3.0


_toolbox = _Toolbox()


def test_op_method_fallback_names_the_op_not_compiled_code():
    import jax.numpy as jnp

    from ember.xcs import get_jit_stats, jit

    @jit
    def scaled(x, key):
        return x * _toolbox.weight(key)

    assert scaled(jnp.ones(2), "b").tolist() == [3.0, 3.0]
    reason = get_jit_stats(scaled)["fallbacks"][0]
    assert "it calls the op _toolbox.weight" in reason and "compiled code" not in reason
