"""The Store contract (``memo.store.Store``), run on every store.

A store added later (a Redis store, say) is one line in ``STORES``: a factory that
makes a fresh, empty store for one test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memo import DiskStore, MemoryStore, Store, StoreError
from memo.localauth import LocalSealer
from memo.sealedstore import SealedStore

STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda tmp_path: MemoryStore(),
    "disk": lambda tmp_path: DiskStore(tmp_path / "cache"),
    "sealed-disk": lambda tmp_path: SealedStore(DiskStore(tmp_path / "cache"), LocalSealer(b"k" * 32, "test")),
}

LARGE = bytes(range(256)) * 4096  # 1 MiB, NUL bytes included: a value file on disk


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = STORES[request.param](tmp_path)
    yield made
    made.close()


def test_every_store_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)


def test_a_key_never_set_is_a_miss(store: Store) -> None:
    assert store.get("never-set") is None


@pytest.mark.parametrize("value", [b"x", b"", b"\x00\xff" * 10, LARGE], ids=["byte", "empty", "binary", "1MiB"])
def test_a_value_comes_back_exactly(store: Store, value: bytes) -> None:
    store.set("k", value, None)
    got = store.get("k")
    assert got == value and type(got) is bytes  # b"" is a value, not the miss sentinel None


@pytest.mark.parametrize("key", ["memo1:lint:" + "a" * 40, "ünïcode key", "k" * 2000], ids=["hex", "unicode", "long"])
def test_any_str_key_is_a_key(store: Store, key: str) -> None:
    store.set(key, b"v", None)
    assert store.get(key) == b"v"


def test_setting_a_key_again_replaces_its_value_and_leaves_others(store: Store) -> None:
    store.set("a", b"1", None)
    store.set("b", b"2", None)
    store.set("a", LARGE, None)
    store.set("a", b"3", None)
    assert (store.get("a"), store.get("b")) == (b"3", b"2")
    assert store.count() == 2


@pytest.mark.parametrize("value", [bytearray(b"v"), memoryview(b"v"), "text", 1, None, {"v": 1}])
def test_only_bytes_can_be_stored(store: Store, value: object) -> None:
    store.set("k", b"before", None)
    with pytest.raises(StoreError):
        store.set("k", value, None)  # type: ignore[arg-type]
    assert store.get("k") == b"before"


def test_an_expired_entry_is_a_miss(store: Store) -> None:
    store.set("now", b"v", 0)
    store.set("past", b"v", -1)
    store.set("later", b"v", 3600)
    store.set("never", b"v", None)
    assert [store.get(k) for k in ("now", "past", "later", "never")] == [None, None, b"v", b"v"]


def test_setting_again_replaces_the_expiry(store: Store) -> None:
    store.set("k", b"v", 0)
    store.set("k", b"v", None)
    assert store.get("k") == b"v"
    store.set("k", b"w", 0)
    assert store.get("k") is None


def test_delete_removes_one_key_and_a_missing_key_is_no_error(store: Store) -> None:
    store.set("a", b"1", None)
    store.set("b", LARGE, None)
    store.delete("a")
    store.delete("b")
    store.delete("never-set")
    assert (store.get("a"), store.get("b")) == (None, None)
    assert store.count() == 0


def test_clear_removes_everything_and_says_how_many(store: Store) -> None:
    for index in range(5):
        store.set(f"k{index}", LARGE if index == 0 else b"v", None)
    assert store.clear() == 5
    assert store.count() == 0
    assert store.get("k0") is None
    assert store.clear() == 0


def test_sizes_lists_each_entry_with_the_length_of_its_value(store: Store) -> None:
    assert list(store.sizes()) == []
    store.set("small", b"12345", None)
    store.set("large", LARGE, None)
    store.set("small", b"123", None)
    assert sorted(store.sizes()) == [("large", len(LARGE)), ("small", 3)]


def test_set_many_stores_each_item_as_set_would(store: Store) -> None:
    store.set("a", b"old", None)
    store.set_many([("a", b"1", None), ("b", LARGE, None), ("c", b"gone", 0)])
    assert (store.get("a"), store.get("b"), store.get("c")) == (b"1", LARGE, None)
    store.set_many([])
    assert store.count() >= 2


def test_count_is_the_number_of_entries(store: Store) -> None:
    assert store.count() == 0
    store.set("a", b"1", None)
    store.set("b", b"2", None)
    store.set("a", b"3", None)
    assert store.count() == 2


def test_size_bytes_covers_the_values_held(store: Store) -> None:
    assert store.size_bytes() >= 0
    store.set("big", LARGE, None)
    assert store.size_bytes() >= len(LARGE)
    store.delete("big")
    assert 0 <= store.size_bytes() < len(LARGE)


def test_close_twice_then_use_again_keeps_the_entries(store: Store) -> None:
    store.set("k", b"v", None)
    store.set("big", LARGE, None)
    store.close()
    store.close()
    assert (store.get("k"), store.get("big")) == (b"v", LARGE)
    store.set("after", b"w", None)
    assert store.count() == 3


def test_get_many_returns_exactly_the_live_entries(store: Store) -> None:
    store.set("live", b"1", None)
    store.set("later", LARGE, 3600)
    store.set("expired", b"3", -1)
    store.set("empty", b"", None)
    store.set("deleted", b"4", None)
    store.delete("deleted")
    found = store.get_many(["live", "later", "expired", "deleted", "never-set", "empty", "live"])
    assert found == {"live": b"1", "later": LARGE, "empty": b""}
    assert all(type(value) is bytes for value in found.values())
    assert store.get_many([]) == {}


def test_get_many_reads_more_keys_than_one_query_may_bind(store: Store) -> None:
    keys = [f"k{number}" for number in range(1_234)]
    for key in keys[::2]:
        store.set(key, key.encode(), None)
    assert store.get_many(keys) == {key: key.encode() for key in keys[::2]}
