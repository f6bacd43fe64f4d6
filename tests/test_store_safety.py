"""Nothing read back from the cache is ever unpickled, and foreign entries are dropped."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import diskcache
import pytest

from memo import Finding, MemoryStore, ValidationCache, ValidationResult
from memo.codec import decode_entry, encode_entry
from tests.helpers import counting_validator_class, write


class _Payload:
    """Unpickling this creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path, padding: int = 0) -> None:
        self.marker = marker
        self.padding = "x" * padding

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _plant(cache_dir: Path, key: str, payload: Any) -> None:
    """Write ``payload`` under ``key`` with diskcache's default (pickling) Disk, as an attacker would."""
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key, payload)


@pytest.mark.parametrize("padding", [0, 100_000], ids=["inline", "in-file"])
def test_planted_pickle_is_never_executed(tmp_path: Path, padding: int, caplog: pytest.LogCaptureFixture) -> None:
    source = write(tmp_path / "a.py", "x = 1\n")
    marker = tmp_path / "pwned"
    cache_dir = tmp_path / "cache"
    with ValidationCache(cache_dir) as cache:
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        key = cache.key_for(source, "lint").key
    _plant(cache_dir, key, _Payload(marker, padding))
    with caplog.at_level(logging.WARNING, logger="memo"), ValidationCache(cache_dir) as cache:
        assert cache.get(source, "lint") is None
        stats = cache.stats()
        assert (stats["errors"], stats["rejected"]) == (1, 1)
        assert stats["entries"] == 0  # the planted entry was removed
        cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
        assert cache.get(source, "lint") is not None
    assert not marker.exists()
    assert any("refusing" in record.getMessage() for record in caplog.records)


async def test_planted_pickle_is_never_executed_through_the_decorator(tmp_path: Path) -> None:
    validator = counting_validator_class()
    source = write(tmp_path / "a.py", "x = 1\n")
    marker = tmp_path / "pwned"
    await validator(source).validate()
    cache_dir = tmp_path / "default-cache"
    with diskcache.Cache(str(cache_dir)) as raw:
        keys = list(raw.iterkeys())
    assert len(keys) == 1
    from memo import reset_default_cache

    reset_default_cache()
    _plant(cache_dir, keys[0], _Payload(marker))
    result = await validator(source).validate()
    assert result.cached is False
    assert validator.calls == 2
    assert not marker.exists()


def test_store_refuses_to_write_anything_but_bytes(tmp_path: Path) -> None:
    from memo import DiskStore, StoreError

    store = DiskStore(tmp_path / "cache")
    with pytest.raises(StoreError):
        store.set("k", {"not": "bytes"}, None)  # type: ignore[arg-type]
    store.close()


def test_entry_under_another_key_is_a_miss_and_removed(tmp_path: Path) -> None:
    one = write(tmp_path / "a.py", "x = 1\n")
    two = write(tmp_path / "b.py", "x = 2\n")
    cache_dir = tmp_path / "cache"
    with ValidationCache(cache_dir) as cache:
        cache.set(one, "lint", ValidationResult("lint", False, file_path=str(one)))
        key_one, key_two = cache.key_for(one, "lint").key, cache.key_for(two, "lint").key
    with diskcache.Cache(str(cache_dir)) as raw:
        raw.set(key_two, raw.get(key_one))  # a copied row: right format, wrong key
    with ValidationCache(cache_dir) as cache:
        assert cache.get(two, "lint") is None
        assert cache.stats()["rejected"] == 1
        assert cache.get(one, "lint") is not None
    with diskcache.Cache(str(cache_dir)) as raw:
        assert key_two not in raw


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'{"schema": 999}', json.dumps({"schema": 1, "key": "k"}).encode(), "text"],
)
def test_malformed_entries_are_rejected(data: Any) -> None:
    from memo import UnsafeEntryError

    with pytest.raises(UnsafeEntryError):
        decode_entry("k", data, "a.py", now=0.0)


def test_result_round_trips_exactly_through_the_stored_format() -> None:
    result = ValidationResult(
        "security",
        passed=False,
        findings=[
            Finding("/w/a.py", 3, 7, "B101", "assert used", "warning"),
            Finding("/w/other.py", 1, 1, "X", "ünïcode \n message", "info"),
        ],
        file_path="/w/a.py",
        duration_s=0.25,
    )
    data = encode_entry("k", result, expires_at=None)
    back = decode_entry("k", data, "/w/a.py", now=0.0)
    assert back is not None
    assert back.to_dict() == {**result.to_dict(), "cached": True}
    assert ValidationResult.from_dict(result.to_dict()) == result


def test_memory_store_passes_the_same_cache_behaviour(tmp_path: Path) -> None:
    now = [0.0]
    source = write(tmp_path / "a.py", "x = 1\n")
    cache = ValidationCache(store=MemoryStore(clock=lambda: now[0]), ttl=5, clock=lambda: now[0])
    cache.set(source, "lint", ValidationResult("lint", True, file_path=str(source)))
    assert cache.get(source, "lint") is not None
    now[0] = 5.0
    assert cache.get(source, "lint") is None
    assert cache.stats()["entries"] == 0
    assert not (tmp_path / "cache").exists()
