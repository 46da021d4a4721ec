"""pyember's transform signatures: scan(f)(init, xs), decorator factories, grad options."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from ember.api import op  # noqa: E402
from ember.xcs import TransformError, XCSError, grad, pmap, scan, vmap  # noqa: E402


def cumulative(carry, x):
    total = carry + x
    return total, total


def test_scan_returns_a_function_of_init_and_xs():
    scanned = scan(cumulative, length=None, reverse=False, unroll=1)
    carry, ys = scanned(jnp.array(0.0), jnp.arange(4.0))
    assert float(carry) == 6.0 and ys.tolist() == [0.0, 1.0, 3.0, 6.0]
    carry, ys = scan(cumulative, reverse=True)(0, [1, 2, 3])
    assert carry == 6 and ys == [6, 5, 3]


def test_scan_as_a_decorator_with_extra_arguments_on_both_paths():
    @scan(unroll=2)
    def scaled(carry, x, factor):
        return carry + x * factor, carry

    carry, ys = scaled(jnp.array(0.0), jnp.ones(3), 2.0)  # tensor path
    assert float(carry) == 6.0 and ys.tolist() == [0.0, 2.0, 4.0]

    @op
    def describe(value):
        return f"<{value}>"

    @scan
    def labelled(carry, x, prefix):
        return carry + 1, describe(prefix + x)

    assert labelled(0, ["a", "b"], "p-") == (2, ["<p-a>", "<p-b>"])  # orchestration


def test_decorator_factory_forms():
    @vmap(in_axes=(0, None))
    def shift(x, offset):
        return x + offset

    assert shift(jnp.arange(3.0), 1.0).tolist() == [1.0, 2.0, 3.0]

    @pmap(in_axes=0)
    def shout(text):
        return text.upper()

    assert shout(["a", "b"]) == ["A", "B"]

    @grad(argnums=1)
    def product(a, b):
        return a * b

    assert float(product(3.0, 2.0)) == 3.0


def test_an_in_axes_tuple_has_one_entry_per_positional_argument_as_in_jax():
    def join(text, sep, suffix):
        return sep.join([text, suffix])

    def scale(x, y):
        return x * y

    assert vmap(join, in_axes=(0, None, None))(["a", "b"], "-", "z") == ["a-z", "b-z"]
    tensor = vmap(scale, in_axes=(0, None))(jnp.arange(3.0), 2.0)
    assert tensor.tolist() == [0.0, 2.0, 4.0]
    counts = r"in_axes needs one entry per positional argument, but got len\(in_axes\)=1, " \
             r"len\(args\)=(3|2)"
    with pytest.raises(TransformError, match=counts):  # pyember v2 broadcast the rest here
        vmap(join, in_axes=(0,))(["a", "b"], "-", "z")
    with pytest.raises(TransformError, match=counts):  # jax.vmap refuses it too
        vmap(scale, in_axes=(0,))(jnp.arange(3.0), jnp.arange(3.0))
    with pytest.raises(TransformError, match=r"len\(in_axes\)=3, len\(args\)=2"):
        vmap(scale, in_axes=(0, 0, 0))([1, 2], [3, 4])


def test_orchestration_vmap_and_pmap_stack_arrays_and_honour_out_axes():
    @op
    def embed(text):
        return np.full(2, len(text), dtype=np.float32)

    stacked = vmap(embed)(["a", "bb", "ccc"])
    assert isinstance(stacked, np.ndarray) and stacked.shape == (3, 2)
    moved = pmap(embed, out_axes=1)(["a", "bb", "ccc"])
    assert moved.shape == (2, 3) and moved[0].tolist() == [1.0, 2.0, 3.0]


def test_axis_name_for_collectives():
    normalized = vmap(lambda x: x / jax.lax.psum(x, "batch"), axis_name="batch")
    assert normalized(jnp.array([1.0, 3.0])).tolist() == [0.25, 0.75]
    centred = pmap(lambda x: x - jax.lax.pmean(x, "i"), axis_name="i")
    assert centred(jnp.array([1.0, 3.0])).tolist() == [-1.0, 1.0]


def test_pmap_backend():
    assert pmap(lambda x: x * 2, backend="cpu")(jnp.arange(4.0)).tolist() == [0, 2, 4, 6]
    with pytest.raises(XCSError, match="backend"):
        pmap(lambda x: x, backend="no-such-backend")(jnp.arange(2.0))
    with pytest.raises(XCSError, match="backend"):
        pmap(lambda x: x, backend=3)


def test_grad_options():
    assert complex(grad(lambda z: z * z, holomorphic=True)(jnp.array(1.0 + 1.0j))) == 2 + 2j
    int_grad = grad(lambda x, n: x * 2.0, argnums=(0, 1), allow_int=True)(1.0, 3)
    assert float(int_grad[0]) == 2.0
    with pytest.raises(XCSError, match="bool"):
        grad(lambda x: x, strict="yes")


def test_grad_of_an_orchestration_only_function_says_orchestration():
    @op
    def score(text):
        return 0.5

    def loss(weights):
        return score("a prompt")

    with pytest.raises(XCSError, match="orchestration"):
        grad(loss)(jnp.ones(2))
    assert grad(loss, strict=False)(jnp.ones(2)).tolist() == [0.0, 0.0]

    def uses_input(x):
        return score(x)

    with pytest.raises(XCSError, match="orchestration"):
        grad(uses_input)(jnp.array(1.0))


def test_hybrid_grad_and_allow_hybrid_false():
    @op
    def judge(text):
        return 2.0

    def hybrid(w):
        return jnp.sum(w) * judge("q")

    assert grad(hybrid)(jnp.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(XCSError, match="allow_hybrid"):
        grad(hybrid, allow_hybrid=False)(jnp.ones(2))


def test_pyember_mesh_spelling_shape_and_partition_spec():
    """pyember's XCS reference writes ``DeviceMesh(shape=(2, 2))``,
    ``DeviceMesh(devices=..., shape=...)`` and ``mesh_sharded(f, mesh=mesh,
    partition_spec=spec)``; ours spelled these ``mesh_shape`` and ``pspec`` only, so
    pyember's calls raised TypeError."""
    from ember.api.xcs import DeviceMesh, PartitionSpec, mesh_sharded

    calls = []

    @op
    def shout(text):
        calls.append(text)
        return text.upper()

    mesh = DeviceMesh(devices=[0, 1], shape=(2,))
    assert (mesh.shape, mesh.slots) == (DeviceMesh(devices=[0, 1], mesh_shape=(2,)).shape, 2)
    assert DeviceMesh(shape=(2, 2)).shape == (2, 2)
    sharded = mesh_sharded(shout, mesh=mesh, partition_spec=PartitionSpec(0))
    assert sharded(["a", "b", "c"]) == ["A", "B", "C"] and sorted(calls) == ["a", "b", "c"]
    with pytest.raises(TransformError, match="once"):
        DeviceMesh(shape=(2,), mesh_shape=(2,))
    with pytest.raises(TransformError, match="once"):
        mesh_sharded(shout, mesh, PartitionSpec(0), partition_spec=PartitionSpec(0))
