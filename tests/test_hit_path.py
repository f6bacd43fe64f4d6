"""The hit path's memos and batched reads: cheaper, and exactly as strict as the plain path."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import diskcache
import pytest

from memo import DiskStore, MemoryStore, ValidationCache, ValidationResult, bind_cache, plan_call
from memo.binding import CacheBinding, _binding
from memo.codec import decode_entry, encode_entry
from memo.decorator import prefetch, validator_identity
from memo.errors import UnsafeEntryError
from memo.hashing import HashMemo
from memo.keys import KeyMemo, key_string, relative_key_path
from tests.helpers import counting_validator_class, write


class _CountingStore(MemoryStore):
    """A memory store that counts reads, one by one and batched."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.batches = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return super().get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        self.batches += 1
        found: dict[str, bytes] = {}
        for key in keys:
            value = super().get(key)
            if value is not None:
                found[key] = value
        return found


@pytest.fixture
def trusting_binding(tmp_path: Path) -> Iterator[CacheBinding]:
    """A run whose file stamps are trusted at once (its clock is far past every file's change)."""
    store = _CountingStore()
    cache = ValidationCache(store=store)
    binding = CacheBinding(cache=cache, root=tmp_path, hashes=HashMemo(clock_ns=lambda: 2**62))
    token = _binding.set(binding)
    try:
        yield binding
    finally:
        _binding.reset(token)
        cache.close()


# -- memoised parts of the key ------------------------------------------------------------


def test_memoised_identity_changes_when_cache_identity_changes() -> None:
    tool = ["ruff 0.1"]
    validator = counting_validator_class(cache_identity=lambda self: tool[0])
    first = validator_identity(validator(None))
    assert validator_identity(validator(None)) == first
    tool[0] = "ruff 0.2"
    second = validator_identity(validator(None))
    assert second != first and second.endswith("+ruff 0.2")
    tool[0] = "ruff 0.1"
    assert validator_identity(validator(None)) == first


def test_memoised_identity_changes_when_the_version_changes() -> None:
    validator = counting_validator_class()
    before = validator_identity(validator(None))
    validator.version = "2"
    assert validator_identity(validator(None)) != before
    assert "@2+code." in validator_identity(validator(None))


def test_memoised_identity_is_per_class() -> None:
    one, two = counting_validator_class(), counting_validator_class()
    assert validator_identity(one(None)) == validator_identity(two(None))  # same name, module, code
    three = type("Other", (one,), {})
    assert validator_identity(three(None)) != validator_identity(one(None))


def test_relative_key_path_of_absolute_paths_is_remembered_and_unchanged(tmp_path: Path) -> None:
    path = str(tmp_path / "pkg" / "a.py")
    assert relative_key_path(path, tmp_path) == "pkg/a.py"
    assert relative_key_path(path, str(tmp_path)) == "pkg/a.py"
    assert relative_key_path(Path(path), tmp_path) == "pkg/a.py"
    assert relative_key_path(path, tmp_path / "other") == path
    assert relative_key_path(path, None) == path


def test_relative_key_path_of_a_relative_path_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    monkeypatch.chdir(tmp_path / "one")
    assert relative_key_path("a.py", tmp_path) == "one/a.py"
    monkeypatch.chdir(tmp_path / "two")
    assert relative_key_path("a.py", tmp_path) == "two/a.py"


def test_key_memo_gives_the_key_of_the_parts() -> None:
    memo = KeyMemo(max_entries=2)
    parts = [("a.py", "xxh3:1", "c", "lint", "v", ""), ("a.py", "xxh3:2", "c", "lint", "v", "")]
    parts.append(("a.py", "xxh3:1", "c", "lint", "v", "ctx"))
    for _ in range(2):
        for path, content, config, dimension, validator, context in parts:
            expected = key_string(path, content, config, dimension, validator, context=context)
            assert memo.key(path, content, config, dimension, validator, context) == expected
    assert len({memo.key(*p) for p in parts}) == 3
    assert len(memo) <= 4  # a window: the last 2 to 4 keys


# -- the envelope -------------------------------------------------------------------------


@pytest.mark.parametrize("tail", [b" ", b"\n", b"[]", b"x"])
def test_an_envelope_with_anything_after_it_is_rejected(tail: bytes) -> None:
    data = encode_entry("k", ValidationResult("lint", True, file_path="a.py"), None)
    assert decode_entry("k", data, "a.py", 0.0) is not None
    with pytest.raises(UnsafeEntryError, match="malformed"):
        decode_entry("k", data + tail, "a.py", 0.0)


@pytest.mark.parametrize("data", [b" ", b"]", b"\xff", b"[1,"])
def test_a_truncated_or_empty_envelope_is_rejected(data: bytes) -> None:
    with pytest.raises(UnsafeEntryError, match="malformed"):
        decode_entry("k", data, "a.py", 0.0)


# -- the disk store's direct reads -----------------------------------------------------------


def test_get_many_drops_a_planted_pickle_and_returns_the_rest(tmp_path: Path) -> None:
    store = DiskStore(tmp_path / "cache")
    store.set("good", b"ours", None)
    store.close()
    with diskcache.Cache(str(tmp_path / "cache")) as raw:
        raw.set("planted", {"a": "pickle"})
    store = DiskStore(tmp_path / "cache")
    assert store.get_many(["good", "planted"]) == {"good": b"ours"}
    assert store.get_many(["planted"]) == {}
    assert store.count() == 1  # the planted row was removed
    store.close()


def test_a_read_after_a_fork_uses_a_connection_of_its_own(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    store = DiskStore(tmp_path / "cache")
    store.set("k", b"v", None)
    assert store.get("k") == b"v"
    parent = store._connection(store._open())
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        try:
            child = store._connection(store._open())
            os._exit(0 if child is not parent and store.get("k") == b"v" else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store._connection(store._open()) is parent
    store.close()


# -- prefetch ---------------------------------------------------------------------------


def _entry(cache: ValidationCache, key: str, file_path: str) -> ValidationResult:
    result = ValidationResult("todos", True, file_path=file_path)
    assert cache.store(key, result)
    return result


def test_a_prefetched_entry_is_read_in_one_query_and_once() -> None:
    store = _CountingStore()
    cache = ValidationCache(store=store)
    _entry(cache, "a", "a.py")
    _entry(cache, "b", "b.py")
    assert cache.prefetch(["a", "b", "missing"]) == 2
    assert (store.batches, store.gets) == (1, 0)
    assert cache.lookup("a", "a.py") is not None
    assert cache.lookup("missing", "m.py") is None
    assert store.gets == 0
    assert cache.lookup("a", "a.py") is not None  # the second lookup reads the store again
    assert store.gets == 1
    stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (2, 1)


def test_a_prefetched_entry_is_still_verified() -> None:
    store = _CountingStore()
    cache = ValidationCache(store=store)
    result = ValidationResult("todos", True, file_path="a.py")
    store.set("b", encode_entry("a", result, None), None)  # the envelope names another key
    cache.prefetch(["b"])
    assert cache.lookup("b", "b.py") is None
    assert cache.stats()["rejected"] == 1
    assert store.get("b") is None  # and it was removed


def test_a_prefetched_entry_that_expired_since_is_a_miss() -> None:
    now = [1000.0]
    cache = ValidationCache(store=MemoryStore(clock=lambda: now[0]), clock=lambda: now[0], ttl=10)
    _entry(cache, "a", "a.py")
    assert cache.prefetch(["a"]) == 1
    now[0] += 11
    assert cache.lookup("a", "a.py") is None


def test_a_key_stored_after_its_prefetched_miss_is_found() -> None:
    cache = ValidationCache(store=MemoryStore())
    assert cache.prefetch(["a"]) == 0
    _entry(cache, "a", "a.py")
    assert cache.lookup("a", "a.py") is not None


def test_clearing_the_cache_forgets_what_was_prefetched() -> None:
    cache = ValidationCache(store=MemoryStore())
    _entry(cache, "a", "a.py")
    cache.prefetch(["a"])
    cache.invalidate_all()
    assert cache.lookup("a", "a.py") is None


def test_prefetch_reads_nothing_when_caching_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _CountingStore()
    cache = ValidationCache(store=store)
    _entry(cache, "a", "a.py")
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "false")
    assert cache.prefetch(["a"]) == 0
    assert cache.lookup_many({"a": "a.py"}) == {}
    assert store.batches == 0


def test_lookup_many_returns_the_live_results_and_counts_each_key() -> None:
    store = _CountingStore()
    cache = ValidationCache(store=store)
    _entry(cache, "a", "a.py")
    _entry(cache, "b", "b.py")
    found = cache.lookup_many({"a": "here/a.py", "b": "b.py", "c": "c.py"})
    assert sorted(found) == ["a", "b"]
    assert found["a"].file_path == "here/a.py" and found["a"].cached is True
    assert (store.batches, store.gets) == (1, 0)
    stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (2, 1)


async def test_prefetched_checks_are_served_by_one_read_and_plan_once(
    tmp_path: Path, trusting_binding: CacheBinding
) -> None:
    planned: list[int] = []

    def context(self: Any) -> str:
        planned.append(1)  # asked once per plan made, and again at the lookup itself
        return "ctx"

    validator = counting_validator_class(cache_context=context)
    sources = [write(tmp_path / f"m{number}.py", f"x = {number}  # TODO\n") for number in range(5)]
    for source in sources:
        await validator(source).validate()
    store = trusting_binding.cache._store  # type: ignore[union-attr]
    assert isinstance(store, _CountingStore)
    store.gets = 0
    instances = [validator(source) for source in sources]
    planned.clear()
    assert prefetch(instances) == 5
    assert len(planned) == 5
    results = [await instance.validate() for instance in instances]
    assert all(result.cached for result in results)
    assert [result.file_path for result in results] == [str(source) for source in sources]
    assert (store.batches, store.gets, validator.calls, len(planned)) == (1, 0, 5, 10)


async def _planned_ahead(tmp_path: Path) -> tuple[Any, Path, Any]:
    """A file validated (and cached) once, and a new instance of its validator whose call ``prefetch`` planned."""
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    await validator(source).validate()
    instance = validator(source)
    assert prefetch([instance]) == 1
    return validator, source, instance


async def test_a_prefetched_plan_is_not_used_once_the_file_changed(
    tmp_path: Path, trusting_binding: CacheBinding
) -> None:
    validator, source, instance = await _planned_ahead(tmp_path)
    write(source, "x = 1  # TODO\n")
    result = await instance.validate()
    assert (result.cached, result.passed, validator.calls) == (False, False, 2)


async def test_a_prefetched_plan_is_not_used_once_caching_is_disabled(
    tmp_path: Path, trusting_binding: CacheBinding, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator, _source, instance = await _planned_ahead(tmp_path)
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "off")
    assert (await instance.validate()).cached is False
    assert validator.calls == 2


async def test_a_prefetched_plan_is_not_used_under_another_binding(
    tmp_path: Path, trusting_binding: CacheBinding
) -> None:
    validator, _source, instance = await _planned_ahead(tmp_path)
    with ValidationCache(store=MemoryStore()) as other, bind_cache(other, root=tmp_path):
        assert (await instance.validate()).cached is False
        assert other.stats()["sets"] == 1
    assert validator.calls == 2


async def test_the_env_switch_turns_caching_off_and_on_within_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        await validator(source).validate()
        assert (await validator(source).validate()).cached is True
        monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "false")
        assert plan_call(validator(source), "todos") is None
        assert (await validator(source).validate()).cached is False
        monkeypatch.delenv("VALIDATION_CACHE_ENABLED")
        assert (await validator(source).validate()).cached is True
    assert validator.calls == 2
