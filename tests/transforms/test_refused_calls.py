"""A vmap/pmap call refused before its items run (mapped inputs of different lengths,
an argument that cannot be mapped, a tensor call JAX would read otherwise) is counted
in ``get_jit_stats``: one more call and one more error, as ``jit`` counts a call whose
arguments do not fit its function."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from ember.xcs import TransformError, get_jit_stats, jit, op, pmap, vmap


@op
def shout(text):
    return text.upper()


def _counts(fn):
    stats = get_jit_stats(fn)
    return stats["calls"], stats["errors"]


@pytest.mark.parametrize("transform", [vmap, pmap])
def test_refused_orchestration_calls_are_counted(transform):
    batched = transform(shout)
    assert batched(["a"]) == ["A"]
    for bad in ((["a"], ["b", "c"]), ("text",)):
        with pytest.raises(TransformError):
            batched(*bad)
    assert _counts(batched) == (3, 2)


def test_refused_tensor_call_is_counted():
    doubled = vmap(lambda x: x * 2)
    doubled(jnp.ones((2, 3)))
    with pytest.raises(TransformError, match="is a list of 2 items"):
        doubled([jnp.ones(2), jnp.ones(2)])
    assert _counts(doubled) == (2, 1)


def test_refused_call_inside_a_jitted_call_is_the_outer_calls():
    inner = vmap(shout)
    outer = jit(lambda a, b: inner(a, b))
    with pytest.raises(TransformError):
        outer(["a"], ["b", "c"])
    assert _counts(inner) == (0, 0)  # nested calls join the outer call (see Nesting)
    assert _counts(outer) == (1, 1)


def _append(x, log):
    log.append(x)
    return x * 2


@pytest.mark.parametrize("transform", [vmap, pmap])
def test_item_changing_its_argument_names_the_transform_and_the_fix(transform):
    from ember.xcs import ArgumentChangedError, op

    log: list[int] = []
    with pytest.raises(ArgumentChangedError) as caught:
        transform(_append, in_axes=(0, None))([1, 2], log)
    message = str(caught.value)
    assert message.startswith(f"{transform.__name__}(_append): the function '_append' changed")
    assert f"{transform.__name__}(op(_append, effect=True), ...)" in message
    assert not message.startswith("op ")  # the user wrote no op
    # The fix it names gives the plain loop's result and changes.
    fixed = transform(op(_append, effect=True), in_axes=(0, None))([1, 2], log)
    assert (fixed, log) == ([2, 4], [1, 2])
