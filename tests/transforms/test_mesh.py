"""DeviceMesh, PartitionSpec and mesh_sharded: NamedSharding for arrays, slots for work."""

from __future__ import annotations

import threading
import time

import pytest

from ember.xcs import DeviceMesh, PartitionSpec, TransformError, get_jit_stats, mesh_sharded


def transform(text):
    return text.upper()


def process_item(item):
    return {"processed": transform(item["data"]), "id": item["id"]}


def test_device_mesh_shape_slots_and_validation():
    mesh = DeviceMesh(devices=[0, 1, 2, 3], mesh_shape=(2, 2))
    assert (mesh.shape, mesh.slots, mesh.axis_names) == ((2, 2), 4, ("axis0", "axis1"))
    assert DeviceMesh(mesh_shape=(3,), axis_names=["data"]).axis_names == ("data",)
    with pytest.raises(TransformError, match="holds 4 devices but 3"):
        DeviceMesh(devices=[0, 1, 2], mesh_shape=(2, 2))
    with pytest.raises(TransformError, match="axis names"):
        DeviceMesh(mesh_shape=(2, 2), axis_names=["x"])


def test_partition_spec_entries_and_conversion():
    assert PartitionSpec(0, None) == PartitionSpec(0, None)
    assert repr(PartitionSpec("x", ("x", "y"))) == "PartitionSpec('x', ('x', 'y'))"
    with pytest.raises(TransformError):
        PartitionSpec(1.5)
    mesh = DeviceMesh(devices=[0], mesh_shape=(1,), axis_names=["data"])
    assert tuple(PartitionSpec(0, None).to_jax(mesh)) == ("data", None)
    with pytest.raises(TransformError, match="no axis 'model'"):
        PartitionSpec("model").to_jax(mesh)


def test_seed_mesh_example_on_orchestration_items():
    devices = [0, 1, 2, 3]
    mesh = DeviceMesh(devices=devices, mesh_shape=(2, 2))
    pspec = PartitionSpec(0, 1)
    sharded_fn = mesh_sharded(process_item, mesh, pspec)
    large_dataset = {"data": [f"d{i}" for i in range(10)], "id": list(range(10))}
    result = sharded_fn(inputs=large_dataset)
    assert result == {"processed": [f"D{i}" for i in range(10)], "id": list(range(10))}
    assert get_jit_stats(sharded_fn)["ops"] == 4  # one node per slot


def test_orchestration_shards_run_concurrently_items_in_order():
    threads: dict[str, str] = {}
    lock = threading.Lock()

    def slow(text):
        time.sleep(0.05)
        with lock:
            threads[text] = threading.current_thread().name
        return text

    mesh = DeviceMesh(devices=[0, 1, 2, 3], mesh_shape=(4,))
    started = time.perf_counter()
    assert mesh_sharded(slow, mesh)(list("abcdefgh")) == list("abcdefgh")
    assert time.perf_counter() - started < 0.18  # 4 shards x 2 items x 50 ms
    assert threads["a"] == threads["b"]  # contiguous items share their slot


def test_tensor_mesh_sharded_on_four_devices(on_four_devices):
    out = on_four_devices("""
        import jax, jax.numpy as jnp, numpy as np
        from ember.xcs import DeviceMesh, PartitionSpec, mesh_sharded, op

        mesh = DeviceMesh(devices=[0, 1, 2, 3], mesh_shape=(2, 2))
        x = jnp.arange(32.0).reshape(4, 8)

        def f(a, b):
            return jnp.tanh(a) * 2 + b

        got = mesh_sharded(f, mesh, PartitionSpec(0, 1))(x, 1.0)
        np.testing.assert_allclose(got, jax.jit(f)(x, 1.0), rtol=1e-6)
        assert len(got.sharding.device_set) == 4
        assert tuple(got.sharding.spec) == ("axis0", "axis1"), got.sharding

        try:
            mesh_sharded(f, mesh, PartitionSpec(0, 1))(jnp.ones((3, 8)), 1.0)
        except Exception as error:
            assert type(error).__name__ == "TransformError", error
            assert "argument 0" in str(error)
        else:
            raise AssertionError("an undivisible dimension must fail")

        @op
        def note(v):
            return "n"

        hybrid = mesh_sharded(lambda row: (note(row.sum()), row * 2), mesh, PartitionSpec(0))
        notes, rows = hybrid(jnp.ones((4, 2)))
        assert notes == ["n"] * 4 and len(rows) == 4
        assert hybrid.stats()["mode"] == "orchestration"
        print("ok")
    """)
    assert out.strip() == "ok"


def test_device_mesh_refuses_a_device_count():
    with pytest.raises(TransformError, match=r"DeviceMesh\(devices=\.\.\.\) must be a list"):
        DeviceMesh(devices=4)
