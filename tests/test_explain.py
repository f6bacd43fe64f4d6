"""memo.explain: hit or miss, and on a miss which part of the key changed since the last store."""

from __future__ import annotations

from pathlib import Path

import pytest

from memo import Explanation, MemoryStore, ValidationCache, bind_cache, explain
from tests.helpers import counting_validator_class, write


class _CountingStore(MemoryStore):
    """A memory store that counts writes, to prove what does and does not write."""

    def __init__(self) -> None:
        super().__init__()
        self.sets = 0

    def set(self, key: str, value: bytes, expire: float | None) -> None:
        self.sets += 1
        super().set(key, value, expire)


async def test_explain_says_hit_after_a_store_and_miss_with_no_record_before(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "pkg" / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        before = explain(validator(source))
        await validator(source).validate()
        after = explain(validator(source))
    assert (before.status, before.recorded, before.differing) == ("miss", None, ())
    assert "no entry was recorded" in before.reason
    assert (after.status, after.hit, after.path, after.dimension) == ("hit", True, "pkg/a.py", "todos")
    assert after.recorded == after.parts
    assert after.key is not None and after.key == before.key


async def test_explain_names_the_content_when_the_file_changed(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        await validator(source).validate()
        write(source, "x = 2\n")
        explained = explain(validator(source))
    assert (explained.status, explained.differing) == ("miss", ("content",))
    assert explained.reason == "miss: content changed since the entry last stored for this file"


async def test_explain_names_the_config_when_the_validators_config_changed(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        await validator(source, config={"level": 1}).validate()
        assert explain(validator(source, config={"level": 2})).differing == ("config",)
        assert explain(validator(source, config={"level": 1})).status == "hit"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"version": "2"}, ("validator_version",)),
        ({"cache_identity": lambda self: "tool 2.0"}, ("tool_version",)),
        ({"cache_context": lambda self: "python 3.99"}, ("context",)),
        ({"version": "2", "cache_identity": lambda self: "tool 2.0"}, ("validator_version", "tool_version")),
    ],
)
async def test_explain_splits_the_validator_identity_into_version_and_tool(
    tmp_path: Path, change: dict[str, object], expected: tuple[str, ...]
) -> None:
    validator = counting_validator_class(cache_identity=lambda self: "tool 1.0")
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        await validator(source).validate()
        for name, value in change.items():
            setattr(validator, name, value)
        assert explain(validator(source)).differing == expected


async def test_explain_says_expired_when_the_recorded_key_is_the_same(tmp_path: Path) -> None:
    now = [1_000_000.0]
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache", ttl=60, clock=lambda: now[0]) as cache, bind_cache(cache):
        await validator(source).validate()
        now[0] += 60
        explained = explain(validator(source))
    assert (explained.status, explained.differing) == ("miss", ())
    assert "expired or been evicted" in explained.reason


async def test_explain_says_uncached_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    assert explain(validator(None)).status == "uncached"
    monkeypatch.setenv("VALIDATION_CACHE_ENABLED", "0")
    explained = explain(validator(source))
    assert explained.status == "uncached"
    assert "VALIDATION_CACHE_ENABLED" in explained.reason
    assert not (tmp_path / "default-cache").exists()


async def test_parts_are_recorded_on_a_store_only_and_explain_itself_writes_nothing(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    store, index = _CountingStore(), _CountingStore()
    with ValidationCache(store=store, index_store=index) as cache, bind_cache(cache):
        await validator(source).validate()
        assert (store.sets, index.sets) == (1, 0), "the record waits in memory: a miss makes one write"
        assert explain(validator(source)).status == "hit"
        assert index.sets == 1, "explain writes what waited"
        for _ in range(3):
            assert (await validator(source).validate()).cached is True
            explain(validator(source))
        assert (store.sets, index.sets) == (1, 1), "a hit, or an explain, writes nothing"
        stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (3, 1), "explain does not count"


async def test_records_outlive_the_process_that_made_them(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        await validator(source).validate()
    write(source, "x = 2\n")
    with ValidationCache(tmp_path / "cache") as cache, bind_cache(cache, root=tmp_path):
        assert explain(validator(source)).differing == ("content",)


async def test_an_unreadable_record_is_no_record(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    index = MemoryStore()
    with ValidationCache(store=MemoryStore(), index_store=index) as cache, bind_cache(cache):
        await validator(source).validate()
        write(source, "x = 2\n")
        for key in list(index._data):
            for junk in (b"\x80not json", b"[]", b'{"key": "k", "parts": {"path": 1}}', b"[" * 100_000):
                index.set(key, junk, None)
                explained = explain(validator(source))
                assert (explained.status, explained.recorded) == ("miss", None)


def test_an_explanation_is_plain_json() -> None:
    explained = Explanation("lint", "uncached", "not cached: reasons")
    assert explained.to_dict() == {
        "dimension": "lint",
        "status": "uncached",
        "reason": "not cached: reasons",
        "path": None,
        "key": None,
        "parts": None,
        "recorded": None,
        "differing": [],
    }
