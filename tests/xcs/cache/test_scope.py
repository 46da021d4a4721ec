"""The active result cache: set by Config(result_cache=...) or use(), seen by op bodies."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from ember.xcs import Config, ConfigError, jit, op
from ember.xcs.cache import CacheScope, MemoryStore, SQLiteStore, active, open_store, use


def test_config_adds_one_scope_hook_and_keeps_user_hooks(tmp_path: Path) -> None:
    class Hook:
        def on_node_end(self, event):
            pass

    hook = Hook()
    config = Config(hooks=[hook], result_cache=tmp_path / "r.sqlite")
    assert config.hooks[0] is hook
    assert [type(h) for h in config.hooks[1:]] == [CacheScope]
    again = config.replace(max_workers=2)
    assert sum(isinstance(h, CacheScope) for h in again.hooks) == 1
    assert Config.from_mapping(config.as_dict()) == config
    assert not any(isinstance(h, CacheScope) for h in config.replace(result_cache=None).hooks)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (True, "takes a file path or a store, not True"),
        ("", "must be a non-empty file path"),
        (3, "must be None, a file path or a result store"),
        (MemoryStore, "must be None, a file path or a result store"),
    ],
)
def test_bad_result_cache_values(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^Config.result_cache") as caught:
        Config(result_cache=value)
    assert fragment in str(caught.value)


def test_a_directory_is_not_a_cache_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        Config(result_cache=tmp_path)


def test_the_scope_is_active_in_op_bodies_on_every_thread_and_the_loop() -> None:
    store = MemoryStore()
    seen = []
    lock = threading.Lock()

    @op
    def look(x):
        with lock:
            seen.append(active().store)
        return x

    @op
    async def look_async(x):
        await asyncio.sleep(0)
        with lock:
            seen.append(active().store)
        return x

    f = jit(lambda: [look(1), look(2), look_async(3)], config=Config(result_cache=store))
    assert f() == [1, 2, 3]
    assert seen == [store, store, store]
    assert active().store is None  # restored in the caller after the call


def test_the_scope_ends_when_the_call_fails() -> None:
    @op
    def boom(x):
        raise ValueError("no")

    with pytest.raises(ValueError):
        jit(lambda: boom(1), config=Config(result_cache=MemoryStore()))()
    assert active().store is None


def test_use_nests_and_restores(tmp_path: Path) -> None:
    outer, inner = MemoryStore(), MemoryStore()
    with use(outer):
        assert active().store is outer
        with use(inner):
            assert active().store is inner
        assert active().store is outer
    assert active().store is None
    with pytest.raises(ConfigError):
        with use(None):
            pass


def test_paths_open_one_shared_store(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    first = open_store(path)
    assert isinstance(first, SQLiteStore)
    assert open_store(str(path)) is first
    store = MemoryStore()
    assert open_store(store) is store


def test_a_secure_call_inside_use_keeps_the_memory_store_that_use_made_active() -> None:
    """Presets.SECURE has no store of its own: the MemoryStore of a `with use(...)`
    around the call stays in force (it was hidden: cache=True ops went for the
    persistent default file and were refused, cache=None ones ran uncached)."""
    from ember.xcs import Presets, jit, op

    paid: list[str] = []

    @op(cache=True, version="1")
    def lookup(key: str) -> str:
        paid.append(key)
        return key.upper()

    secure = jit(lambda key: [lookup(key), lookup(key)], config=Presets.SECURE)
    with use(MemoryStore()):
        assert secure("a") == ["A", "A"]
        assert secure("a") == ["A", "A"]
    assert paid == ["a"]
