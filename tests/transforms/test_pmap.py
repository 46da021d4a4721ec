"""pmap: workers for orchestration, shard_map over devices for arrays."""

from __future__ import annotations

import inspect

import pytest

from ember.xcs import Config, ConfigError, TransformError, pmap, vmap


def transform(text):
    return text.upper()


def process_item(item):
    return {"processed": transform(item["data"]), "id": item["id"]}


def reject_b(text):
    if text == "b":
        raise ValueError("no b")
    return text


def test_seed_pmap_example():
    parallel_fn = pmap(process_item)
    parallel_results = parallel_fn(inputs={"data": ["a", "b", "c"], "id": [1, 2, 3]})
    assert parallel_results == {"processed": ["A", "B", "C"], "id": [1, 2, 3]}


def test_nested_pmap_of_vmap_maps_shards_then_items():
    distributed_batch_fn = pmap(vmap(process_item))
    result = distributed_batch_fn(inputs={"data": [["a", "b"], ["c"]], "id": [[1, 2], [3]]})
    assert result == {"processed": [["A", "B"], ["C"]], "id": [[1, 2], [3]]}


def test_nested_on_one_worker_finishes():
    nested = pmap(vmap(transform, config=Config(max_workers=1)), config=Config(max_workers=1))
    assert nested([["a", "b"], ["c", "d"]]) == [["A", "B"], ["C", "D"]]


def test_process_pool_executor():
    assert pmap(transform, config=Config(executor="process"))(["x", "y"]) == ["X", "Y"]


def test_exception_type_and_message_match_plain_loop():
    with pytest.raises(ValueError, match="no b"):
        pmap(reject_b)(["a", "b", "c"])


def test_tensor_in_axes_must_be_flat():
    import jax.numpy as jnp

    with pytest.raises(TransformError, match="in_axes must be an int, None, or a tuple"):
        pmap(lambda d: d["w"], in_axes=({"w": 0},))({"w": jnp.ones((2, 2))})


def test_tensor_pmap_on_four_devices_matches_jax(on_four_devices):
    out = on_four_devices("""
        import jax, jax.numpy as jnp, numpy as np
        from ember.xcs import pmap

        def f(row, scale):
            return jnp.tanh(row) * scale

        x = jnp.arange(32.0).reshape(8, 4)
        got = pmap(f, in_axes=(0, None))(x, 2.0)
        np.testing.assert_allclose(got, jax.vmap(f, in_axes=(0, None))(x, 2.0), rtol=1e-6)
        assert len(got.sharding.device_set) == 4, got.sharding

        y = jnp.arange(24.0).reshape(4, 6)  # batch on axis 1, 6 items: 3 devices divide it
        got = pmap(lambda c: c * 2, in_axes=1, out_axes=1)(y)
        np.testing.assert_array_equal(got, y * 2)

        z = pmap(lambda r: {"s": r.sum()})(x)
        np.testing.assert_allclose(z["s"], x.sum(axis=1))
        print("ok")
    """)
    assert out.strip() == "ok"


def test_mismatched_array_batches_name_the_arguments_and_their_real_sizes(on_four_devices):
    out = on_four_devices("""
        import jax.numpy as jnp
        from ember.xcs import TransformError, pmap

        def add(a, b):
            return a + b

        try:
            pmap(add)(jnp.ones(4), jnp.ones(8))
        except TransformError as error:
            print(error)
        try:
            pmap(add)(jnp.ones(4), b={"w": jnp.ones(6)})
        except TransformError as error:
            print(error)
    """)
    first, second = out.strip().splitlines()
    assert "argument a has size 4, argument b has size 8" in first
    assert "in_axes None" in first and "block" not in first
    assert "argument a has size 4, argument b['w'] has size 6" in second


@pytest.mark.parametrize(("devices", "message"), [
    (1, r"got int 1; get them with jax\.devices\(\)"),
    ("cpu", r"got str 'cpu'; to choose a platform use backend='cpu'"),
    ([object()], r"holds object <object .*>, which is neither a JAX device nor an index"),
    ({0, 1}, r"got set \{0, 1\}"),
])
def test_devices_must_be_a_list_of_devices_or_indices(devices, message):
    """A count or a platform name is refused at pmap(), not split into characters
    (which an orchestration batch ignored and JAX failed on much later)."""
    with pytest.raises(TransformError, match=r"pmap\(devices=\.\.\.\) .*" + message):
        pmap(transform, devices=devices)


def test_devices_are_checked_and_unused_for_orchestration():
    import jax
    import numpy as np

    for devices in ([0], jax.devices()[:1], np.array(jax.devices()[:1])):
        assert pmap(transform, devices=devices)(["a", "b"]) == ["A", "B"]
    assert pmap(lambda x: x * 2, devices=[0])(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: pmap(transform, num_workers=4),
     r"pmap\(\): num_workers=4 is a setting: pass config=Config\(max_workers=4\)"),
    (lambda: pmap(transform, Config()), r"pmap\(\) takes its Config as a keyword argument"),
    (lambda: pmap(executor="process"), r"pass config=Config\(executor='process'\)"),
])
def test_a_setting_given_to_pmap_directly_says_where_it_goes(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
    assert list(inspect.signature(pmap).parameters) == [
        "fn", "in_axes", "out_axes", "axis_size", "axis_name", "devices", "backend", "config"]
